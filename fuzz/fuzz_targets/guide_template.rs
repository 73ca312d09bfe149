//! The guide template parser: template files are Markdown written by people
//! (translators, facilitators), so any text must parse or be refused with a
//! line number inside the file, never panic; and a parsed template must fit
//! any meeting length a circle may have.
#![no_main]

use circles_core::fuzzing::parse_template;
use libfuzzer_sys::fuzz_target;

/// The meeting lengths a circle may have (schema: duration_minutes).
const DURATIONS: std::ops::RangeInclusive<u32> = 15..=720;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse_template("fuzz.md", text) {
        Ok(template) => {
            let total: u32 = template.sections.iter().map(|s| s.minutes).sum();
            assert_eq!(total, template.planned_for, "a parsed template adds up to planned_for");
            let _ = template.source();
            // A length from the input's size, and the extremes.
            let span = DURATIONS.end() - DURATIONS.start() + 1;
            let from_input = DURATIONS.start() + u32::try_from(data.len()).unwrap_or(u32::MAX) % span;
            for duration in [*DURATIONS.start(), template.planned_for, from_input, *DURATIONS.end()] {
                let sections = template.sections_for(duration);
                assert_eq!(sections.len(), template.sections.len());
                if duration != template.planned_for {
                    assert!(sections.iter().all(|s| s.minutes >= 5), "a fitted section keeps 5 minutes");
                }
            }
        }
        Err(e) => {
            let lines = text.lines().count().max(1);
            assert!((1..=lines).contains(&e.line), "error line {} outside 1..={lines}: {e}", e.line);
        }
    }
});
