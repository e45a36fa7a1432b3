/// Errors of the lake stage.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {}
