//! The website beside the API: the files of its built folder (`npm run build` in `website/`
//! makes `website/build`) as they are, and the app's `index.html` for any other page a browser
//! asks for, so that `/job/<id>` opens in the app. Requests that do not ask for HTML keep the
//! API's JSON 404.

use std::path::{Path, PathBuf};

use actix_files::{Files, NamedFile};
use actix_web::dev::{ServiceRequest, ServiceResponse, fn_service};
use actix_web::http::Method;
use actix_web::web;
use doctown_worker::{accepts, not_found};

/// Where the website is.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Website")]
pub struct SiteSettings {
    /// The website's built folder (`cd website && npm ci && npm run build` makes
    /// website/build), served beside the API; without it only the API is served.
    #[arg(long, env = "DOCTOWN_SITE_DIR", value_name = "DIR")]
    pub site_dir: Option<PathBuf>,
}

impl SiteSettings {
    /// The folder to serve, checked; the error says how to make it.
    pub fn folder(&self) -> Result<Option<PathBuf>, String> {
        let Some(folder) = &self.site_dir else {
            return Ok(None);
        };
        if !folder.join("index.html").is_file() {
            return Err(format!(
                "{} holds no index.html (DOCTOWN_SITE_DIR); build the website first: cd website && npm ci && npm run build",
                folder.display()
            ));
        }
        Ok(Some(folder.clone()))
    }
}

/// Serves the website in `folder` under `/`, after the routes already configured.
pub(crate) fn configure(folder: &Path, config: &mut web::ServiceConfig) {
    let index = folder.join("index.html");
    let fallback = fn_service(move |request: ServiceRequest| {
        let index = index.clone();
        async move {
            let (request, _) = request.into_parts();
            let page = request.method() == Method::GET && accepts(&request, "text/html");
            let response = if page {
                match NamedFile::open_async(&index).await {
                    Ok(file) => file.into_response(&request),
                    Err(err) => actix_web::ResponseError::error_response(&err),
                }
            } else {
                match not_found(request.clone()).await {
                    Ok(response) => response,
                    Err(err) => actix_web::ResponseError::error_response(&err),
                }
            };
            Ok(ServiceResponse::new(request, response))
        }
    });
    config.service(
        Files::new("/", folder)
            .index_file("index.html")
            .default_handler(fallback),
    );
}
