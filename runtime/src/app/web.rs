//! axum integration (feature `axum`): the [`VerifiedEvent`] extractor reads the form body
//! (capped at [`FormLimits::max_bytes`](crate::events::FormLimits)), runs
//! [`App::receive`] and hands the handler an event that is already verified; a refused
//! event never reaches the handler and is answered with a status that says why (the body
//! names the reason, never a token).
//!
//! ```no_run
//! # #[cfg(feature = "axum")] {
//! use axum::{Router, routing::post, http::StatusCode};
//! use bitrix24_runtime::app::{App, Received, web::VerifiedEvent};
//!
//! async fn on_event(VerifiedEvent(received): VerifiedEvent) -> StatusCode {
//!     if let Received::Event { member_id, event } = received {
//!         let _ = (member_id, event.fields_id());
//!     }
//!     StatusCode::OK
//! }
//! # fn router(app: App) -> Router {
//! Router::new().route("/bitrix24/events", post(on_event)).with_state(app)
//! # }
//! # }
//! ```

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{App, Received};
use crate::events::{EventError, FormError};

/// An event that [`App::receive`] accepted: installs stored, uninstalls forgotten, other
/// events verified against their portal's application token.
#[derive(Debug, Clone)]
pub struct VerifiedEvent(pub Received);

/// Why the extractor refused a request: the [`EventError`], answered as `400` (a body that is
/// not an event), `413` (too large), `403` (forged, unknown portal, no token, install that did
/// not check out) or `500` (the token store failed).
#[derive(Debug, Clone)]
pub struct EventRejection(pub EventError);

impl EventRejection {
    /// The HTTP status the rejection is answered with.
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            EventError::Form(FormError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            EventError::Form(_) | EventError::Missing { .. } | EventError::Invalid { .. } => {
                StatusCode::BAD_REQUEST
            }
            EventError::NoToken { .. }
            | EventError::UnknownPortal { .. }
            | EventError::Forged { .. }
            | EventError::InstallRejected { .. } => StatusCode::FORBIDDEN,
            EventError::Payload { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            EventError::Store { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for EventRejection {
    fn into_response(self) -> Response {
        (self.status(), self.0.to_string()).into_response()
    }
}

impl<S> FromRequest<S> for VerifiedEvent
where
    App: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = EventRejection;

    async fn from_request(req: Request, state: &S) -> Result<VerifiedEvent, EventRejection> {
        let app = App::from_ref(state);
        let max = app.form_limits().max_bytes;
        let body = axum::body::to_bytes(req.into_body(), max.saturating_add(1))
            .await
            .map_err(|_| {
                EventRejection(EventError::Form(FormError::TooLarge {
                    bytes: max.saturating_add(1),
                    max,
                }))
            })?;
        app.receive(&body)
            .await
            .map(VerifiedEvent)
            .map_err(EventRejection)
    }
}
