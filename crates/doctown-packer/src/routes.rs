//! `POST /pack` and `GET /docpacks/{checksum}`.

use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use doctown_common::{ChunkId, JobId, is_checksum};
use doctown_contracts::pack::{PackParts, PackRequest};
use doctown_contracts::{Contract, Pack};
use doctown_docpack::{
    DocpackContents, DocpackError, EmbeddingSet, Generator, HashingWriter, write_docpack,
};
use doctown_events::{ErrorInfo, EventContext, EventEmitter, PackCompleted, PackStarted};
use doctown_storage::{StorageError, Store, docpack_key, verified};
use doctown_worker::{ApiError, Jobs, ValidJson, accepts, attachment, read_artifact, stream_task};

/// The `producer_version` of every event this worker sends.
const PRODUCER: &str = concat!("doctown-packer/", env!("CARGO_PKG_VERSION"));

/// What every request needs.
#[derive(Debug, Clone)]
pub(crate) struct PackService {
    store: Arc<dyn Store>,
    public_url: Option<String>,
}

impl PackService {
    /// The service storing into `store`.
    pub(crate) fn new(store: Arc<dyn Store>, public_url: Option<String>) -> Self {
        Self { store, public_url }
    }

    /// Adds the routes.
    pub(crate) fn configure(&self, config: &mut web::ServiceConfig) {
        config
            .app_data(web::Data::new(self.clone()))
            .route(Pack::PATH, web::post().to(pack))
            .route("/docpacks/{checksum}", web::get().to(download));
    }
}

/// The job id and the docpack contents of `request` (read from the store when kept there), or
/// a 422 naming what is missing or wrong.
async fn request_contents(
    request: PackRequest,
    store: &dyn Store,
) -> Result<(JobId, DocpackContents), ApiError> {
    let (job_id, artifact, inline) = request.into_parts();
    let job_id = job_id.unwrap_or_else(JobId::generate);
    let Some(artifact) = artifact else {
        return Ok((job_id, contents(inline)?));
    };
    if inline.source.is_some() || inline.nodes.is_some() || inline.source_map.is_some() {
        return Err(ApiError::invalid_field(
            "contents",
            "the request has both `contents` and inline parts; send one or the other",
        ));
    }
    let parts: PackParts = read_artifact(store, &artifact, "contents").await?;
    Ok((job_id, contents(parts)?))
}

/// The docpack made of `parts`, or a 422 naming what is missing or wrong.
fn contents(parts: PackParts) -> Result<DocpackContents, ApiError> {
    let missing: Vec<&str> = [
        ("source", parts.source.is_none()),
        ("nodes", parts.nodes.is_none()),
        ("graph", parts.graph.is_none()),
        ("clusters", parts.clusters.is_none()),
        ("source_map", parts.source_map.is_none()),
    ]
    .into_iter()
    .filter_map(|(name, absent)| absent.then_some(name))
    .collect();
    if let Some(first) = missing.first() {
        let names: Vec<String> = missing.iter().map(|n| format!("`{n}`")).collect();
        return Err(ApiError::invalid_field(
            first,
            format!(
                "the request lacks {}; a docpack needs source, nodes, graph, clusters and \
                 source_map",
                names.join(", ")
            ),
        ));
    }
    let (Some(source), Some(nodes), Some(graph), Some(clusters), Some(source_map)) = (
        parts.source,
        parts.nodes,
        parts.graph,
        parts.clusters,
        parts.source_map,
    ) else {
        // Every piece is present once the check above passed.
        return Err(ApiError::invalid_field(
            "source",
            "the request is incomplete",
        ));
    };
    let chunks: std::collections::HashSet<ChunkId> = source_map
        .iter()
        .flat_map(|f| f.chunks.iter().map(|c| c.chunk_id))
        .collect();
    for (index, cluster) in clusters.iter().enumerate() {
        if let Some(id) = cluster.member_ids.iter().find(|id| !chunks.contains(id)) {
            return Err(ApiError::invalid_field(
                &format!("clusters[{index}].member_ids"),
                format!(
                    "cluster {} holds chunk {id}, which the source map does not list",
                    cluster.cluster_id
                ),
            ));
        }
    }
    let embeddings = match parts.embeddings {
        None => None,
        Some(request) => {
            let mut set = EmbeddingSet::new(request.dimensions);
            for (index, entry) in request.vectors.into_iter().enumerate() {
                let field = format!("embeddings.vectors[{index}]");
                if !chunks.contains(&entry.chunk_id) {
                    return Err(ApiError::invalid_field(
                        &field,
                        format!(
                            "chunk {} has an embedding but is not in the source map",
                            entry.chunk_id
                        ),
                    ));
                }
                set.insert(entry.chunk_id, entry.vector)
                    .map_err(|err| ApiError::invalid_field(&field, err.to_string()))?;
            }
            Some(set)
        }
    };
    let contents = DocpackContents {
        created_at: parts.created_at.unwrap_or_else(Utc::now),
        generator: parts.generator.unwrap_or(Generator {
            name: "doctown".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }),
        source,
        nodes,
        graph,
        clusters,
        source_map,
        embeddings,
        symbol_contexts: parts.symbol_contexts,
        pages: parts.pages,
    };
    Ok(contents)
}

/// Why packing failed.
enum PackFailure {
    /// The contents break a rule of the format.
    Invalid(DocpackError),
    /// Writing or storing failed.
    Failed(ErrorInfo),
}

impl PackFailure {
    fn info(&self) -> ErrorInfo {
        match self {
            PackFailure::Invalid(err) => ErrorInfo::new(err.code(), err.to_string()),
            PackFailure::Failed(info) => info.clone(),
        }
    }
}

/// Writes the docpack to a temporary file, stores it, and says where it is.
async fn build_and_store(
    service: &PackService,
    contents: DocpackContents,
) -> Result<PackCompleted, PackFailure> {
    let started = Instant::now();
    let failed = |code: &str, message: String| PackFailure::Failed(ErrorInfo::new(code, message));
    let written = web::block(move || -> Result<_, PackFailure> {
        let file = tempfile::Builder::new()
            .prefix("doctown-pack-")
            .suffix(".docpack")
            .tempfile()
            .map_err(|err| {
                PackFailure::Failed(ErrorInfo::new(
                    "io",
                    format!("cannot create a temporary file: {err}"),
                ))
            })?;
        // The archive's checksum is taken as it is written, not by reading the file back.
        let mut out = HashingWriter::new(BufWriter::new(file.as_file()));
        let manifest = write_docpack(contents, &mut out).map_err(|err| match err {
            DocpackError::InvalidContents(_) => PackFailure::Invalid(err),
            other => PackFailure::Failed(ErrorInfo::new(other.code(), other.to_string())),
        })?;
        out.flush()
            .map_err(|err| PackFailure::Failed(ErrorInfo::new("io", err.to_string())))?;
        let (size, checksum) = out.finish();
        Ok((file, manifest, size, checksum))
    })
    .await
    .map_err(|err| failed("internal", format!("the packing thread failed: {err}")))??;
    let (file, manifest, size, checksum) = written;
    // Named by its bytes: a docpack of the same members with another manifest (another time,
    // another URL) is another file under another key, and never replaces this one.
    let key = docpack_key(&checksum);
    service
        .store
        .put(&key, file.path())
        .await
        .map_err(|err| failed("storage_failed", err.to_string()))?;
    drop(file);
    let url = match service
        .store
        .download_url(&key)
        .await
        .map_err(|err| failed("storage_failed", err.to_string()))?
    {
        Some(url) => url,
        None => format!(
            "{}/docpacks/{}",
            service
                .public_url
                .as_deref()
                .unwrap_or("")
                .trim_end_matches('/'),
            checksum
        ),
    };
    Ok(PackCompleted {
        docpack_id: Some(manifest.docpack_id),
        checksum: Some(checksum),
        size_bytes: size,
        url: Some(url),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// `POST /pack`.
async fn pack(
    request: HttpRequest,
    service: web::Data<PackService>,
    jobs: web::Data<Jobs>,
    ValidJson(body): ValidJson<PackRequest>,
) -> Result<HttpResponse, ApiError> {
    let (job_id, contents) = request_contents(body, service.store.as_ref()).await?;
    let started = PackStarted {
        symbol_count: contents.nodes.len() as u64,
        chunk_count: contents
            .source_map
            .iter()
            .map(|f| f.chunks.len() as u64)
            .sum(),
    };
    let context = EventContext {
        repo_url: Some(contents.source.repo_url.clone()),
        git_ref: contents.source.git_ref.clone(),
        user_id: None,
    };
    tracing::info!(%job_id, symbols = started.symbol_count, "pack job started");
    // One JSON answer when asked for it rather than an event stream.
    if accepts(&request, "application/json")
        && !accepts(&request, doctown_events::sse::CONTENT_TYPE)
    {
        return match build_and_store(&service, contents).await {
            Ok(completed) => Ok(HttpResponse::Ok().json(completed)),
            Err(PackFailure::Invalid(err)) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                err.code(),
                err.to_string(),
            )),
            Err(failure) => {
                let info = failure.info();
                Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &info.code,
                    info.message,
                ))
            }
        };
    }
    let service = service.get_ref().clone();
    Ok(stream_task(&jobs, move |sink, _cancel| async move {
        let emitter = EventEmitter::new(job_id, context, PRODUCER);
        sink.send_async(emitter.emit(started)).await;
        let finished = match build_and_store(&service, contents).await {
            Ok(completed) => emitter.finish(completed, Ok(())),
            Err(failure) => {
                let info = failure.info();
                tracing::warn!(%job_id, code = %info.code, message = %info.message, "pack job failed");
                emitter.finish(PackCompleted::default(), Err(info))
            }
        };
        sink.send_async(finished).await;
    }))
}

/// `GET /docpacks/{id}`: streams a stored docpack.
/// `GET /docpacks/{checksum}`: the docpack whose file has that SHA-256, checked as it is sent.
async fn download(
    service: web::Data<PackService>,
    checksum: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let checksum = checksum.into_inner();
    if !is_checksum(&checksum) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!(
                "`{}` is not a docpack's checksum (64 lowercase hex digits, the `checksum` \
                 POST /pack answers)",
                checksum.escape_debug()
            ),
        ));
    }
    let key = docpack_key(&checksum);
    let storage_failed = |err: StorageError| {
        ApiError::new(StatusCode::BAD_GATEWAY, "storage_failed", err.to_string())
    };
    let object = service
        .store
        .open(&key)
        .await
        .map_err(storage_failed)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no docpack {checksum} is stored here"),
            )
        })?;
    let object = verified(&key, object, None, &checksum).map_err(storage_failed)?;
    Ok(attachment(
        &format!("{checksum}.docpack"),
        "application/gzip",
        object.size,
        object.body,
    ))
}
