//! Stored files streamed to the client as downloads.

use actix_web::HttpResponse;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::web::Bytes;
use futures_util::stream::BoxStream;

/// `body` (`size` bytes) as a download named `filename`, of `content_type`.
pub fn attachment(
    filename: &str,
    content_type: &str,
    size: u64,
    body: BoxStream<'static, std::io::Result<Bytes>>,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(filename.to_owned())],
        })
        .no_chunking(size)
        .streaming(body)
}
