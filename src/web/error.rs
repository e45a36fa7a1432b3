/// Errors of the web stage.
#[derive(Debug, thiserror::Error)]
pub enum WebError {}
