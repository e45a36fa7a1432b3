/// Errors of the schedule stage.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {}
