/// Errors of the source stage.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {}
