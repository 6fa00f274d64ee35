//! A print job's progress as the printer reports it ([`JobProgress`]) and what it means for
//! the wait: completed, failed, or still going ([`JobProgress::outcome`], pure).
//!
//! Owns: reading a Get-Job-Attributes answer. Must not touch: the network or the clock
//! (mod.rs polls and keeps the deadlines).

use super::IppError;
use super::wire::Answer;

/// `job-state` (RFC 8011 §5.3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Pending,
    /// `pending-held`: waiting for something (a release, a resource) before it may print.
    Held,
    Processing,
    /// `processing-stopped`: started, then stopped (often the printer itself stopped).
    Stopped,
    Canceled,
    Aborted,
    Completed,
}

impl JobState {
    fn from_ipp(value: i32) -> Option<Self> {
        use ipp::model::JobState as J;
        [
            (J::Pending, Self::Pending),
            (J::PendingHeld, Self::Held),
            (J::Processing, Self::Processing),
            (J::ProcessingStopped, Self::Stopped),
            (J::Canceled, Self::Canceled),
            (J::Aborted, Self::Aborted),
            (J::Completed, Self::Completed),
        ]
        .into_iter()
        .find(|(j, _)| *j as i32 == value)
        .map(|(_, s)| s)
    }

    /// The IPP keyword (`pending`, `pending-held`, `processing`, `processing-stopped`,
    /// `canceled`, `aborted`, `completed`).
    pub fn keyword(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Held => "pending-held",
            Self::Processing => "processing",
            Self::Stopped => "processing-stopped",
            Self::Canceled => "canceled",
            Self::Aborted => "aborted",
            Self::Completed => "completed",
        }
    }

    /// Canceled, aborted or completed: the job will not change any more.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Canceled | Self::Aborted | Self::Completed)
    }
}

/// Where a submitted job is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobProgress {
    pub state: JobState,
    /// `job-state-reasons` without `none`, as received (e.g. `job-printing`,
    /// `aborted-by-system`, `printer-stopped`).
    pub reasons: Vec<String>,
    /// `job-impressions-completed`, when the printer counts them.
    pub impressions_completed: Option<i32>,
    /// `job-state-message`, as the printer words it (may be empty).
    pub message: String,
}

impl JobProgress {
    /// # Errors
    /// [`IppError::Malformed`] for an answer without a known `job-state` (it is REQUIRED).
    pub(super) fn from_answer(answer: &Answer) -> Result<Self, IppError> {
        let raw = answer.int("job-state").ok_or_else(|| IppError::Malformed("Get-Job-Attributes answer without job-state".into()))?;
        let state = JobState::from_ipp(raw).ok_or_else(|| IppError::Malformed(format!("unknown job-state {raw}")))?;
        Ok(Self {
            state,
            reasons: answer.words("job-state-reasons").into_iter().filter(|r| r != "none").collect(),
            impressions_completed: answer.int("job-impressions-completed"),
            message: answer.words("job-state-message").join(" ").trim().to_owned(),
        })
    }

    /// `Some(Ok(job_id))` once completed, `Some(Err(JobFailed))` once canceled or aborted
    /// (naming the reasons and the printer's message), `None` while the job may still print.
    pub fn outcome(&self, job_id: i32) -> Option<Result<i32, IppError>> {
        let failed = |state: &'static str| {
            let mut reasons = if self.reasons.is_empty() { "no reason given".to_owned() } else { self.reasons.join(", ") };
            if !self.message.is_empty() {
                reasons = format!("{reasons}; printer says: {}", self.message);
            }
            Some(Err(IppError::JobFailed { job_id, state, reasons }))
        };
        match self.state {
            JobState::Completed => Some(Ok(job_id)),
            JobState::Canceled => failed("was cancelled"),
            JobState::Aborted => failed("was aborted"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rfc_job_state_maps_and_others_do_not() {
        let table = [
            (3, Some(JobState::Pending)),
            (4, Some(JobState::Held)),
            (5, Some(JobState::Processing)),
            (6, Some(JobState::Stopped)),
            (7, Some(JobState::Canceled)),
            (8, Some(JobState::Aborted)),
            (9, Some(JobState::Completed)),
            (0, None),
            (2, None),
            (10, None),
            (-1, None),
        ];
        for (raw, want) in table {
            assert_eq!(JobState::from_ipp(raw), want, "{raw}");
        }
    }

    #[test]
    fn only_final_states_end_the_wait() {
        let progress = |state, reasons: &[&str]| JobProgress {
            state,
            reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
            impressions_completed: Some(1),
            message: if state == JobState::Canceled { "Canceled at the panel".into() } else { String::new() },
        };
        /// A state and its reasons, and how the wait ends (the error's text) or `None`.
        type Row<'a> = (JobState, &'a [&'a str], Option<Result<i32, &'a str>>);
        let table: &[Row] = &[
            (JobState::Pending, &[], None),
            (JobState::Held, &["job-hold-until-specified"], None),
            (JobState::Processing, &["job-printing"], None),
            (JobState::Stopped, &["printer-stopped"], None),
            (JobState::Completed, &["job-completed-successfully"], Some(Ok(7))),
            (JobState::Aborted, &["aborted-by-system"], Some(Err("print job 7 was aborted: aborted-by-system"))),
            (
                JobState::Canceled,
                &["job-canceled-by-user", "job-canceled-at-device"],
                Some(Err("print job 7 was cancelled: job-canceled-by-user, job-canceled-at-device; printer says: Canceled at the panel")),
            ),
            (JobState::Aborted, &[], Some(Err("print job 7 was aborted: no reason given"))),
        ];
        for (state, reasons, want) in table {
            let got = progress(*state, reasons).outcome(7).map(|r| r.map_err(|e| e.to_string()));
            assert_eq!(got, want.map(|r| r.map_err(str::to_owned)), "{state:?} {reasons:?}");
            assert_eq!(state.is_final(), want.is_some());
        }
    }
}
