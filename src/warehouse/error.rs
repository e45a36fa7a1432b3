/// Errors of the warehouse stage.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {}
