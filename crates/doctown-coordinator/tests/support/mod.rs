//! What the coordinator's tests share: a database of their own on the test PostgreSQL.

#![allow(dead_code, unreachable_pub)]

use doctown_common::JobId;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

/// A database of its own for this test, dropped at the end.
pub struct Scratch {
    pub pool: PgPool,
    pub url: String,
    admin: PgConnectOptions,
    name: String,
}

impl Scratch {
    pub async fn new() -> Self {
        let url = std::env::var("DOCTOWN_TEST_DATABASE_URL").unwrap_or_else(|_| {
            panic!("DOCTOWN_TEST_DATABASE_URL is not set: run the tests with scripts/test, or `eval \"$(scripts/services start)\"` first")
        });
        let admin: PgConnectOptions = url.parse().unwrap();
        let name = format!("test_{}", JobId::generate().to_string().replace('-', "_"));
        let mut connection = admin.connect().await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut connection)
            .await
            .unwrap();
        connection.close().await.unwrap();
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(admin.clone().database(&name))
            .await
            .unwrap();
        let url = format!(
            "{}/{name}",
            url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base)
        );
        Self {
            pool,
            url,
            admin,
            name,
        }
    }

    pub async fn drop(self) {
        self.pool.close().await;
        let mut connection = self.admin.connect().await.unwrap();
        sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .execute(&mut connection)
            .await
            .unwrap();
    }
}
