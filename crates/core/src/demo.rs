//! A realistic demo: a library system's team, a small course catalogue and
//! five circles in five time zones with learners, attendance, a cancelled
//! meeting, a head-count-only circle, and a meeting on the given day; every
//! meeting has its guide (one edited by hand), and some feedback leaves a
//! note for next week that shows in the next meeting's guide.
//!
//! Everything is written through the public `Store` API, so the demo is
//! validated exactly like typed input (a demo that no longer validates is a
//! failing test, not bad data). Meeting dates are placed relative to "today"
//! so the demo always has history behind it and meetings ahead of it, and the
//! attendance comes from a fixed-seed generator: the same today always gives
//! the same demo (ids aside).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::domain::attendance::Mark;
use crate::domain::circle::{CircleInput, CircleStatus, Venue};
use crate::domain::course::{CourseFilter, CourseInput};
use crate::domain::feedback::FeedbackInput;
use crate::domain::guide::{GuideEdit, GuideSection};
use crate::domain::learner::LearnerInput;
use crate::domain::meeting::MeetingStatus;
use crate::domain::schedule::WeeklyRule;
use crate::domain::team::TeamRole;
use crate::error::{CoreError, Result, Rule};
use crate::store::Store;

/// What to do when the store already has circles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoMode {
    /// Refuse, leaving the store untouched: demo circles mixed into real
    /// ones are easy to mistake for real learners' records.
    OnlyIntoEmptyStore,
    /// Add the demo beside what is there. Nothing is removed or changed; the
    /// team, facilitators and courses already present (same name, email or
    /// title) are reused instead of duplicated.
    AlongsideExistingData,
}

/// What the demo added.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemoSummary {
    pub team: String,
    pub courses: usize,
    pub facilitators: usize,
    pub circles: Vec<DemoCircleSummary>,
    pub learners: usize,
    pub meetings: usize,
    pub attendance_marks: usize,
    /// The circles that meet on the day the demo was made for.
    pub meets_today: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemoCircleSummary {
    pub id: String,
    pub name: String,
    pub time_zone: String,
    pub meetings: usize,
    pub learners: usize,
}

const SEED: u64 = 0x005e_edc1_c1e5;
const TEAM: &str = "Riverbend Public Library";

struct DemoCourse {
    title: &'static str,
    provider: &'static str,
    link: &'static str,
    caption: &'static str,
    language: &'static str,
    topics: &'static [&'static str],
    license: &'static str,
    format: &'static str,
    archived: bool,
    on_team_list: bool,
}

const COURSES: &[DemoCourse] = &[
    DemoCourse {
        title: "Programming with Python",
        provider: "MIT OpenCourseWare via P2PU",
        link: "http://python.p2pu.org/",
        caption: "Slither into computer programming with Python.",
        language: "en",
        topics: &["programming", "python", "technology"],
        license: "CC BY-NC-SA",
        format: "text and exercises",
        archived: false,
        on_team_list: true,
    },
    DemoCourse {
        title: "Academic Writing",
        provider: "University of Reading via FutureLearn",
        link: "https://www.futurelearn.com/courses/english-for-study",
        caption: "Get on the write track for university-level writing.",
        language: "en",
        topics: &["writing", "english", "study skills"],
        license: "",
        format: "video course",
        archived: false,
        on_team_list: true,
    },
    DemoCourse {
        title: "Public Speaking",
        provider: "University of Washington via Coursera",
        link: "https://www.coursera.org/learn/public-speaking",
        caption: "Become a more confident and effective speaker, one short talk at a time.",
        language: "en",
        topics: &["communication", "public speaking", "careers"],
        license: "",
        format: "video course",
        archived: false,
        on_team_list: true,
    },
    DemoCourse {
        title: "GED® Prep Math",
        provider: "Khan Academy",
        link: "https://www.khanacademy.org/math",
        caption: "Build the math you need for the GED test; you don't have to do it alone.",
        language: "en",
        topics: &["math", "GED", "adult education"],
        license: "CC BY-NC-SA",
        format: "interactive exercises",
        archived: false,
        on_team_list: true,
    },
    DemoCourse {
        title: "Computer Basics",
        provider: "GCFGlobal",
        link: "https://edu.gcfglobal.org/en/computerbasics/",
        caption: "Everything you need to start using a computer with confidence.",
        language: "en",
        topics: &["digital literacy", "computers"],
        license: "",
        format: "text and video",
        archived: false,
        on_team_list: true,
    },
    DemoCourse {
        title: "Finanzas personales",
        provider: "Khan Academy en Español",
        link: "https://es.khanacademy.org/college-careers-more/financial-literacy",
        caption: "Aprende a hacer un presupuesto, ahorrar y entender el crédito.",
        language: "es",
        topics: &["finanzas", "dinero", "vida diaria"],
        license: "CC BY-NC-SA",
        format: "video course",
        archived: false,
        on_team_list: false,
    },
    DemoCourse {
        title: "Informática básica",
        provider: "GCFGlobal",
        link: "https://edu.gcfglobal.org/es/informatica-basica/",
        caption: "Los primeros pasos para usar una computadora sin miedo.",
        language: "es",
        topics: &["alfabetización digital", "computadoras"],
        license: "",
        format: "text and video",
        archived: false,
        on_team_list: false,
    },
    DemoCourse {
        title: "Escrita Criativa: Contar Histórias",
        provider: "Biblioteca Aberta",
        link: "https://cursos.example.org/escrita-criativa",
        caption: "Escreva as suas histórias e partilhe-as com o grupo, semana a semana.",
        language: "pt",
        topics: &["escrita", "literatura", "criatividade"],
        license: "CC BY",
        format: "text",
        archived: false,
        on_team_list: false,
    },
    DemoCourse {
        title: "Web Literacy Basics",
        provider: "Mozilla Foundation",
        link: "https://learning.example.org/web-literacy",
        caption: "Read, write and participate on the web. Superseded by newer courses.",
        language: "en",
        topics: &["digital literacy", "web"],
        license: "CC BY-SA",
        format: "activities",
        archived: true,
        on_team_list: false,
    },
];

struct DemoFacilitator {
    name: &'static str,
    email: &'static str,
    /// Their role in the Riverbend team, if they belong to it.
    team_role: Option<TeamRole>,
}

const FACILITATORS: &[DemoFacilitator] = &[
    DemoFacilitator {
        name: "Dana Whitfield",
        email: "dana.whitfield@riverbend.example.org",
        team_role: Some(TeamRole::Organizer),
    },
    DemoFacilitator {
        name: "Marcus Bell",
        email: "marcus.bell@riverbend.example.org",
        team_role: Some(TeamRole::Member),
    },
    DemoFacilitator { name: "Priya Raman", email: "priya.raman@example.net", team_role: None },
    DemoFacilitator { name: "Inês Carvalho", email: "ines.carvalho@example.org", team_role: None },
    DemoFacilitator { name: "Alejandro Ruiz Vega", email: "alejandro.ruiz@example.net", team_role: None },
];

/// How a circle's attendance is taken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Counting {
    PerLearner,
    /// Head counts for these past meetings, oldest first.
    HeadCountsOnly(&'static [u32]),
}

struct DemoLearner {
    name: &'static str,
    email: &'static str,
    mobile: &'static str,
    goals: &'static str,
    support_needs: &'static str,
    answer: &'static str,
    sms_opt_out: bool,
}

const fn learner(name: &'static str, email: &'static str, mobile: &'static str) -> DemoLearner {
    DemoLearner { name, email, mobile, goals: "", support_needs: "", answer: "", sms_opt_out: false }
}

struct DemoCircle {
    name: &'static str,
    course: &'static str,
    description: &'static str,
    venue: fn() -> Venue,
    meeting_link: &'static str,
    language: &'static str,
    time_zone: &'static str,
    start_time: &'static str,
    duration_minutes: u32,
    signup_limit: Option<u32>,
    signup_question: &'static str,
    in_team: bool,
    facilitators: &'static [&'static str],
    /// The weekday the circle meets on; `None` for the circle that meets
    /// on today's weekday, so that it has a meeting today.
    weekday: Option<Weekday>,
    /// How many of its meetings are before today.
    past_meetings: u32,
    meetings: u32,
    /// Index of a meeting that was called off, with the reason.
    cancelled: Option<(usize, &'static str)>,
    counting: Counting,
    learners: &'static [DemoLearner],
    /// A learner who withdraws after this many meetings.
    withdraws: Option<(&'static str, usize)>,
    /// A walk-in who turns up at this meeting (index) and stays.
    walk_in: Option<(DemoLearner, usize)>,
    /// Notes and feedback written after past meetings, by meeting index.
    after_meeting: &'static [(usize, &'static str, u8, &'static str)],
    /// Notes for next week left after past meetings, by meeting index: they
    /// show in the next meeting's guide.
    next_week: &'static [(usize, &'static str)],
    /// A section the facilitator added to the guide of the meeting at this
    /// index (a guide edited by hand): (index, title, minutes, notes).
    guide_edit: Option<(usize, &'static str, u32, &'static str)>,
}

fn chicago_venue() -> Venue {
    Venue {
        name: "Riverbend Central Library".into(),
        address: "1200 River Street".into(),
        details: "Community Room B, second floor. Laptops are available at the desk.".into(),
        website: "https://riverbend.example.org/locations/central".into(),
        city: "Riverbend".into(),
        region: "Illinois".into(),
        country: "United States".into(),
        latitude: Some(41.8781),
        longitude: Some(-87.6298),
    }
}

fn new_york_venue() -> Venue {
    Venue {
        name: "Harbor Street Branch Library".into(),
        address: "48 Harbor Street".into(),
        details: "Meeting room behind the children's section.".into(),
        website: "https://harborstreet.example.org".into(),
        city: "Brooklyn".into(),
        region: "New York".into(),
        country: "United States".into(),
        latitude: Some(40.6782),
        longitude: Some(-73.9442),
    }
}

fn online_venue() -> Venue {
    Venue {
        city: "Los Angeles".into(),
        region: "California".into(),
        country: "United States".into(),
        ..Venue::default()
    }
}

fn lisbon_venue() -> Venue {
    Venue {
        name: "Biblioteca do Largo Verde".into(),
        address: "Rua das Flores 21".into(),
        details: "Sala de leitura, piso 1.".into(),
        website: "https://biblioteca-largoverde.example.org".into(),
        city: "Lisboa".into(),
        region: "Lisboa".into(),
        country: "Portugal".into(),
        latitude: Some(38.7223),
        longitude: Some(-9.1393),
    }
}

fn mexico_city_venue() -> Venue {
    Venue {
        name: "Biblioteca Comunitaria Las Flores".into(),
        address: "Calle Jalapa 112, Roma Norte".into(),
        details: "Sala de usos múltiples, planta baja.".into(),
        website: "https://lasflores.example.net".into(),
        city: "Ciudad de México".into(),
        region: "CDMX".into(),
        country: "México".into(),
        latitude: Some(19.4194),
        longitude: Some(-99.1617),
    }
}

const CIRCLES: &[DemoCircle] = &[
    DemoCircle {
        name: "Python Programming Basics",
        course: "Programming with Python",
        description: "Learn to write small, useful programs in Python with others who are starting out too. \
                      No experience needed; bring curiosity.",
        venue: chicago_venue,
        meeting_link: "",
        language: "en",
        time_zone: "America/Chicago",
        start_time: "18:00",
        duration_minutes: 90,
        signup_limit: Some(14),
        signup_question: "What would you like to build with Python?",
        in_team: true,
        facilitators: &["dana.whitfield@riverbend.example.org", "marcus.bell@riverbend.example.org"],
        weekday: None,
        past_meetings: 3,
        meetings: 8,
        cancelled: None,
        counting: Counting::PerLearner,
        learners: &[
            DemoLearner {
                goals: "Automate the spreadsheets I use at work.",
                answer: "A script that renames my photos by date.",
                ..learner("Aaliyah Johnson", "aaliyah.johnson@example.org", "+1 312 555 0101")
            },
            learner("Carlos Mendoza", "carlos.mendoza@example.net", "+1 312 555 0102"),
            DemoLearner {
                support_needs: "Needs a large-print handout.",
                ..learner("Grace Kim", "grace.kim@example.org", "")
            },
            learner("Hannah Schultz", "hannah.schultz@example.org", "+1 312 555 0104"),
            DemoLearner {
                goals: "Get ready for a data analyst course at the community college.",
                ..learner("Jamal Carter", "jamal.carter@example.net", "+1 312 555 0105")
            },
            learner("Luis Ortega", "luis.ortega@example.org", "+1 312 555 0106"),
            DemoLearner { sms_opt_out: true, ..learner("Mei Lin", "mei.lin@example.net", "+1 312 555 0107") },
            learner("Olivia Novak", "olivia.novak@example.org", "+1 312 555 0108"),
            learner("Samuel Brooks", "samuel.brooks@example.net", "+1 312 555 0109"),
        ],
        withdraws: Some(("Samuel Brooks", 2)),
        walk_in: Some((learner("Tomasz Kowalski", "", "+1 312 555 0110"), 1)),
        after_meeting: &[
            (
                0,
                "Introductions went long; everyone installed Python.",
                4,
                "Good energy. Two people had never opened a terminal, pairing helped.",
            ),
            (1, "Loops and lists.", 3, "Pace was too fast in the second half; slow down next week."),
            (2, "Functions; started the mini project.", 5, "The group is helping each other without being asked."),
        ],
        next_week: &[
            (1, "Slow down: recap loops for ten minutes before anything new."),
            (2, "Bring the mini projects; Grace needs the large-print handout again."),
        ],
        guide_edit: Some((
            3,
            "Show and tell: mini projects",
            10,
            "Two or three people show what they built so far; keep it to three minutes each.",
        )),
    },
    DemoCircle {
        name: "Speak Up: Public Speaking",
        course: "Public Speaking",
        description: "Practise short talks in a friendly room and give each other useful feedback.",
        venue: new_york_venue,
        meeting_link: "",
        language: "en",
        time_zone: "America/New_York",
        start_time: "18:30",
        duration_minutes: 120,
        signup_limit: Some(12),
        signup_question: "What would you like to be able to speak about?",
        in_team: false,
        facilitators: &["priya.raman@example.net"],
        weekday: Some(Weekday::Thu),
        past_meetings: 4,
        meetings: 7,
        cancelled: Some((2, "Branch closed: snow day.")),
        counting: Counting::PerLearner,
        learners: &[
            learner("Amara Okafor", "amara.okafor@example.org", "+1 718 555 0121"),
            DemoLearner {
                goals: "Speak at my tenants' association without freezing.",
                ..learner("Daniel Rivera", "daniel.rivera@example.net", "+1 718 555 0122")
            },
            learner("Fatima Hassan", "fatima.hassan@example.org", "+1 718 555 0123"),
            learner("Isaac Goldberg", "isaac.goldberg@example.net", ""),
            learner("Keisha Williams", "keisha.williams@example.org", "+1 718 555 0125"),
            learner("Nikhil Shah", "nikhil.shah@example.net", "+1 718 555 0126"),
            DemoLearner {
                support_needs: "Uses a wheelchair; the ramp entrance is on Pine Street.",
                ..learner("Rosa Delgado", "rosa.delgado@example.org", "+1 718 555 0127")
            },
            learner("Victor Chen", "victor.chen@example.net", "+1 718 555 0128"),
            learner("Yasmin Haddad", "yasmin.haddad@example.org", "+1 718 555 0129"),
        ],
        withdraws: None,
        walk_in: None,
        after_meeting: &[(0, "Two-minute introductions, recorded on phones.", 4, "Nervous start, warm finish.")],
        next_week: &[],
        guide_edit: None,
    },
    DemoCircle {
        name: "Academic Writing (online)",
        course: "Academic Writing",
        description: "An online circle for adults heading back to study. We meet on video, \
                      read each other's drafts and keep each other going.",
        venue: online_venue,
        meeting_link: "https://meet.example.org/riverbend-academic-writing",
        language: "en",
        time_zone: "America/Los_Angeles",
        start_time: "17:00",
        duration_minutes: 90,
        signup_limit: Some(10),
        signup_question: "",
        in_team: true,
        facilitators: &["marcus.bell@riverbend.example.org"],
        weekday: Some(Weekday::Wed),
        past_meetings: 5,
        meetings: 8,
        cancelled: None,
        counting: Counting::PerLearner,
        learners: &[
            learner("Brandon Lee", "brandon.lee@example.org", "+1 213 555 0141"),
            learner("Elena Petrova", "elena.petrova@example.net", "+1 213 555 0142"),
            learner("Gabriel Santos", "gabriel.santos@example.org", ""),
            DemoLearner {
                goals: "Finish my application essay for nursing school.",
                ..learner("Jasmine Nguyen", "jasmine.nguyen@example.net", "+1 213 555 0144")
            },
            learner("Kevin O'Brien", "kevin.obrien@example.org", "+1 213 555 0145"),
            DemoLearner {
                support_needs: "Joins from a phone; share documents as links, not attachments.",
                ..learner("Maya Patel", "maya.patel@example.net", "+1 213 555 0146")
            },
            learner("Ruth Alvarez", "ruth.alvarez@example.org", "+1 213 555 0147"),
        ],
        withdraws: None,
        walk_in: Some((learner("Omar Farouk", "omar.farouk@example.net", ""), 2)),
        after_meeting: &[(
            3,
            "Peer review of first drafts in breakout rooms.",
            5,
            "Breakout rooms of three worked well.",
        )],
        next_week: &[],
        guide_edit: None,
    },
    DemoCircle {
        name: "Círculo de Escrita Criativa",
        course: "Escrita Criativa: Contar Histórias",
        description: "Um círculo de escrita para quem gosta de contar histórias. Lemos, escrevemos e partilhamos.",
        venue: lisbon_venue,
        meeting_link: "",
        language: "pt",
        time_zone: "Europe/Lisbon",
        start_time: "10:30",
        duration_minutes: 120,
        signup_limit: None,
        signup_question: "Que tipo de histórias gosta de ler?",
        in_team: false,
        facilitators: &["ines.carvalho@example.org"],
        weekday: Some(Weekday::Sat),
        past_meetings: 3,
        meetings: 6,
        cancelled: None,
        counting: Counting::HeadCountsOnly(&[9, 11, 8]),
        learners: &[
            learner("Ana Ferreira", "ana.ferreira@example.org", ""),
            learner("Beatriz Santos", "beatriz.santos@example.net", ""),
            learner("Carlos Almeida", "carlos.almeida@example.org", ""),
            learner("Duarte Lopes", "duarte.lopes@example.net", ""),
            learner("Joana Ribeiro", "joana.ribeiro@example.org", ""),
            learner("Miguel Costa", "miguel.costa@example.net", ""),
            learner("Rita Sousa", "rita.sousa@example.org", ""),
        ],
        withdraws: None,
        walk_in: None,
        after_meeting: &[(1, "Leitura em voz alta dos contos da semana.", 4, "Muita participação; faltou tempo.")],
        next_week: &[(1, "Começar pela leitura: pedir a quem não leu na semana passada.")],
        guide_edit: None,
    },
    DemoCircle {
        name: "Finanzas personales para todos",
        course: "Finanzas personales",
        description: "Aprendamos juntos a hacer un presupuesto, ahorrar y evitar deudas caras.",
        venue: mexico_city_venue,
        meeting_link: "",
        language: "es",
        time_zone: "America/Mexico_City",
        start_time: "19:00",
        duration_minutes: 90,
        signup_limit: Some(15),
        signup_question: "¿Qué le gustaría lograr con su dinero este año?",
        in_team: false,
        facilitators: &["alejandro.ruiz@example.net"],
        weekday: Some(Weekday::Wed),
        past_meetings: 1,
        meetings: 6,
        cancelled: None,
        counting: Counting::PerLearner,
        learners: &[
            learner("María Fernanda López", "mariafernanda.lopez@example.org", ""),
            learner("José Luis Hernández", "joseluis.hernandez@example.net", ""),
            learner("Guadalupe Ramírez", "guadalupe.ramirez@example.org", ""),
            learner("Juan Carlos Torres", "juancarlos.torres@example.net", ""),
            learner("Sofía Martínez", "sofia.martinez@example.org", ""),
            learner("Diego Flores", "diego.flores@example.net", ""),
            learner("Valeria Cruz", "valeria.cruz@example.org", ""),
            learner("Ricardo Morales", "ricardo.morales@example.net", ""),
        ],
        withdraws: None,
        walk_in: None,
        after_meeting: &[],
        next_week: &[],
        guide_edit: None,
    },
];

/// SplitMix64: a tiny, well-mixed generator. Only its fixed sequence
/// matters here (reproducible attendance), not its statistical quality.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A mark with the mix a real circle shows: mostly present, some late,
    /// a few excused or absent.
    fn mark(&mut self) -> Mark {
        match self.next() % 100 {
            0..=67 => Mark::Present,
            68..=79 => Mark::Late,
            80..=88 => Mark::Excused,
            _ => Mark::Absent,
        }
    }
}

impl DemoCircle {
    /// The first meeting's date: `past_meetings` weekly meetings before
    /// `today` (the local date in the circle's zone), the rest from today on.
    fn first_date(&self, today: NaiveDate) -> Result<NaiveDate> {
        let weeks_back = |from: NaiveDate, weeks: u32| from.checked_sub_days(Days::new(7 * u64::from(weeks)));
        let first = match self.weekday {
            None => weeks_back(today, self.past_meetings),
            Some(weekday) => {
                // The last such weekday strictly before today holds the
                // last past meeting.
                let back = match today.weekday().days_since(weekday) {
                    0 => 7,
                    n => n,
                };
                today
                    .checked_sub_days(Days::new(u64::from(back)))
                    .and_then(|last_past| weeks_back(last_past, self.past_meetings.saturating_sub(1)))
            }
        };
        first.ok_or_else(|| {
            CoreError::invalid(
                "demo",
                "today",
                Rule::State,
                format!("{today} is too close to the start of the calendar"),
            )
        })
    }
}

fn learner_input(l: &DemoLearner, walk_in: bool) -> LearnerInput {
    LearnerInput {
        name: l.name.into(),
        email: l.email.into(),
        mobile: l.mobile.into(),
        goals: l.goals.into(),
        support_needs: l.support_needs.into(),
        question_answer: l.answer.into(),
        // A walk-in has not signed up, so has not agreed to reminders yet.
        consent: !walk_in,
        email_opt_out: false,
        sms_opt_out: l.sms_opt_out,
        walk_in,
        withdrawn: false,
    }
}

/// What the app opens on: the demo's banner, or the welcome screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FirstRun {
    /// This store holds the demo (never signs in or syncs).
    pub demo: bool,
    /// Show the welcome screen: no circles, no account, not a demo, and the
    /// person has not chosen to start without an account yet.
    pub welcome: bool,
}

/// Open the demo's store in `dir`, loading the demo (around `now`) if the
/// store is empty. A folder holding anything else is refused, unchanged.
pub fn open_demo(dir: &Path, now: DateTime<Utc>) -> Result<Store> {
    let mut store = Store::open_in(dir)?;
    if !store.is_demo()? {
        store.load_demo_at(now, DemoMode::OnlyIntoEmptyStore)?;
    }
    Ok(store)
}

/// Start the demo in `dir` afresh: a demo store is replaced by a freshly
/// loaded one. Any other store is refused, unchanged.
pub fn reset_demo(dir: &Path, now: DateTime<Utc>) -> Result<Store> {
    let store = Store::open_in(dir)?;
    if !store.is_demo()? {
        return Err(CoreError::invalid(
            "demo",
            "reset",
            Rule::State,
            format!("{} does not hold the demo, so it was not reset; nothing was changed", dir.display()),
        ));
    }
    let db = store.path().to_path_buf();
    drop(store);
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = db.clone().into_os_string();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(CoreError::DataDir { path: PathBuf::from(name), source }),
        }
    }
    open_demo(dir, now)
}

impl Store {
    /// What the app opens on (`FirstRun`).
    pub fn first_run(&self) -> Result<FirstRun> {
        let demo = self.is_demo()?;
        let welcome = !demo && !self.welcome_done()? && self.sync_identity()?.is_none() && self.circles()?.is_empty();
        Ok(FirstRun { demo, welcome })
    }

    /// Load the demo with its meetings placed around `today`, the same date
    /// for every circle whatever its zone (for tests and fixed screenshots).
    pub fn load_demo(&mut self, today: NaiveDate, mode: DemoMode) -> Result<DemoSummary> {
        self.load_demo_with(&|_| Ok(today), mode)
    }

    /// Load the demo around the instant `now`: each circle's "today" is the
    /// local date in its own zone, so the circle meant to meet today does
    /// so in its zone, as the Today view reckons it, at any hour.
    pub fn load_demo_at(&mut self, now: DateTime<Utc>, mode: DemoMode) -> Result<DemoSummary> {
        self.load_demo_with(
            &|zone| Ok(crate::domain::schedule::local_today(now, crate::domain::schedule::parse_time_zone(zone)?)),
            mode,
        )
    }

    /// The whole demo lands in one transaction, or not at all.
    fn load_demo_with(&mut self, today_in: &dyn Fn(&str) -> Result<NaiveDate>, mode: DemoMode) -> Result<DemoSummary> {
        self.atomically(|store| store.load_demo_unatomically(today_in, mode))
    }

    fn load_demo_unatomically(
        &mut self,
        today_in: &dyn Fn(&str) -> Result<NaiveDate>,
        mode: DemoMode,
    ) -> Result<DemoSummary> {
        // A store that has met a server would send the demo's made-up
        // learners to it: refused whatever the mode.
        if let Some(server) = self.sync_identity()? {
            let which = if server.is_empty() { "a server".to_string() } else { server };
            return Err(CoreError::invalid(
                "demo",
                "account",
                Rule::State,
                format!(
                    "this data folder has an account (it is or was signed in to {which}), so the demo was not \
                     loaded: its made-up circles would be synced into your library's records. Nothing was \
                     changed; the demo has a folder of its own"
                ),
            ));
        }
        let existing = self.circles()?.len();
        if existing > 0 && mode == DemoMode::OnlyIntoEmptyStore {
            let what = if self.is_demo()? { "the demo's" } else { "real" };
            return Err(CoreError::invalid(
                "demo",
                "circles",
                Rule::State,
                format!(
                    "the store already has {existing} circle(s) ({what}), so the demo was not loaded; \
                     use an empty data folder, or ask for the demo to be added beside them"
                ),
            ));
        }
        // Check every date before the first write, so a day the demo cannot
        // be placed around is refused with the store unchanged.
        for c in CIRCLES {
            let first = c.first_date(today_in(c.time_zone)?)?;
            crate::domain::schedule::weekly_dates(&WeeklyRule { first_date: first, count: c.meetings })?;
        }

        // From now on this store is the demo's: it never signs in or syncs.
        self.mark_demo()?;
        let team_id = self.demo_team()?;
        let mut course_ids = Vec::new();
        for course in COURSES {
            let id = self.demo_course(course)?;
            if course.on_team_list {
                self.add_team_course(&team_id, &id)?;
            }
            course_ids.push((course.title, id));
        }
        let mut facilitator_ids = Vec::new();
        for f in FACILITATORS {
            let id = self.demo_facilitator(f)?;
            if let Some(role) = f.team_role {
                self.set_team_role(&team_id, &id, role)?;
            }
            facilitator_ids.push((f.email, id));
        }

        let mut summary = DemoSummary {
            team: TEAM.to_string(),
            courses: COURSES.len(),
            facilitators: FACILITATORS.len(),
            circles: Vec::new(),
            learners: 0,
            meetings: 0,
            attendance_marks: 0,
            meets_today: Vec::new(),
        };
        let mut sequence = Sequence(SEED);
        for c in CIRCLES {
            let course_id = course_ids.iter().find(|(title, _)| *title == c.course).map(|(_, id)| id.clone());
            let facilitators: Vec<&String> = c
                .facilitators
                .iter()
                .filter_map(|email| facilitator_ids.iter().find(|(e, _)| e == email).map(|(_, id)| id))
                .collect();
            let today = today_in(c.time_zone)?;
            let team = c.in_team.then(|| team_id.clone());
            let circle = self.load_demo_circle(c, today, course_id, team, &facilitators, &mut sequence)?;
            summary.learners += circle.summary.learners;
            summary.meetings += circle.summary.meetings;
            summary.attendance_marks += circle.marks;
            if circle.meets_today {
                summary.meets_today.push(c.name.to_string());
            }
            summary.circles.push(circle.summary);
        }
        Ok(summary)
    }

    fn load_demo_circle(
        &mut self,
        c: &DemoCircle,
        today: NaiveDate,
        course_id: Option<String>,
        team_id: Option<String>,
        facilitators: &[&String],
        sequence: &mut Sequence,
    ) -> Result<LoadedCircle> {
        let input = CircleInput {
            name: c.name.into(),
            course_id,
            description: c.description.into(),
            venue: (c.venue)(),
            online: !c.meeting_link.is_empty(),
            meeting_link: c.meeting_link.into(),
            language: c.language.into(),
            time_zone: c.time_zone.into(),
            start_time: c.start_time.into(),
            duration_minutes: c.duration_minutes,
            signup_limit: c.signup_limit,
            signup_open: true,
            signup_question: c.signup_question.into(),
            status: CircleStatus::Published,
            did_not_happen: false,
            team_id,
            reminder_hours: crate::domain::circle::DEFAULT_REMINDER_HOURS,
        };
        let rule = WeeklyRule { first_date: c.first_date(today)?, count: c.meetings };
        let circle_id = self.create_circle(&input, Some(&rule))?;
        for facilitator in facilitators {
            self.add_circle_facilitator(&circle_id, facilitator)?;
        }
        let mut learners = Vec::new();
        for l in c.learners {
            learners.push((l.name, self.add_learner(&circle_id, &learner_input(l, false))?));
        }

        let meetings = self.meetings(&circle_id)?;
        let mut marks = 0;
        for (index, meeting) in meetings.iter().enumerate() {
            if let Some((_, reason)) = c.cancelled.filter(|(at, _)| *at == index) {
                self.set_meeting_status(&meeting.id, MeetingStatus::Cancelled)?;
                self.set_meeting_notes(&meeting.id, reason)?;
                continue;
            }
            if meeting.local_date >= today {
                continue;
            }
            if let Some((walk_in, _)) = c.walk_in.as_ref().filter(|(_, at)| *at == index) {
                learners.push((walk_in.name, self.add_learner(&circle_id, &learner_input(walk_in, true))?));
            }
            match c.counting {
                Counting::PerLearner => {
                    for (_, learner_id) in &learners {
                        if self.learner(learner_id)?.fields.withdrawn {
                            continue;
                        }
                        self.mark_attendance(&meeting.id, learner_id, sequence.mark())?;
                        marks += 1;
                    }
                }
                Counting::HeadCountsOnly(counts) => {
                    let held = meetings[..index].iter().filter(|m| !m.is_cancelled()).count();
                    if let Some(count) = counts.get(held) {
                        self.set_head_count(&meeting.id, Some(*count))?;
                    }
                }
            }
            self.set_meeting_status(&meeting.id, MeetingStatus::Held)?;
            if let Some(&(_, notes, rating, reflection)) = c.after_meeting.iter().find(|(at, ..)| *at == index) {
                self.set_meeting_notes(&meeting.id, notes)?;
                let next_week = c.next_week.iter().find(|(at, _)| *at == index).map(|(_, n)| *n).unwrap_or_default();
                self.set_meeting_feedback(
                    &meeting.id,
                    &FeedbackInput {
                        rating: Some(rating),
                        reflection: reflection.into(),
                        reflection_prompt: crate::domain::feedback::reflection_prompts(c.language)[0].text.into(),
                        next_week_note: next_week.into(),
                    },
                )?;
            }
            if let Some((name, _)) = c.withdraws.filter(|(_, after)| *after == index + 1) {
                if let Some((_, id)) = learners.iter().find(|(n, _)| *n == name) {
                    self.set_learner_withdrawn(id, true)?;
                }
            }
        }
        if let Some((index, title, minutes, notes)) = c.guide_edit {
            // A facilitator's own section, after the longest one, which
            // gives up the time so the plan still fits the meeting.
            let meeting = &meetings[index].id;
            let guide = self.guide(meeting)?;
            let longest =
                (0..guide.sections.len()).max_by_key(|&i| (guide.sections[i].minutes, usize::MAX - i)).unwrap_or(0);
            let section = GuideSection { title: title.into(), minutes, notes: notes.into() };
            self.edit_meeting_guide(meeting, &GuideEdit::Add { at: Some(longest + 1), section })?;
            let shorter = guide.sections[longest].minutes.saturating_sub(minutes).max(5);
            self.edit_meeting_guide(
                meeting,
                &GuideEdit::Edit { index: longest, title: None, minutes: Some(shorter), notes: None },
            )?;
        }
        Ok(LoadedCircle {
            summary: DemoCircleSummary {
                id: circle_id,
                name: c.name.into(),
                time_zone: c.time_zone.into(),
                meetings: meetings.len(),
                learners: learners.len(),
            },
            marks,
            meets_today: meetings.iter().any(|m| m.local_date == today && !m.is_cancelled()),
        })
    }

    fn demo_team(&mut self) -> Result<String> {
        match self.teams()?.into_iter().find(|t| t.name == TEAM) {
            Some(team) => Ok(team.id),
            None => self.create_team(TEAM),
        }
    }

    fn demo_course(&mut self, course: &DemoCourse) -> Result<String> {
        let all = self.list_courses(&CourseFilter { include_archived: true, ..CourseFilter::default() })?;
        if let Some(found) =
            all.into_iter().find(|c| c.fields.title == course.title && c.fields.provider == course.provider)
        {
            return Ok(found.id);
        }
        self.create_course(&CourseInput {
            title: course.title.into(),
            provider: course.provider.into(),
            link: course.link.into(),
            caption: course.caption.into(),
            language: course.language.into(),
            topics: course.topics.iter().map(|t| t.to_string()).collect(),
            license: course.license.into(),
            format: course.format.into(),
            archived: course.archived,
        })
    }

    fn demo_facilitator(&mut self, f: &DemoFacilitator) -> Result<String> {
        // Facilitator emails are unique in a store; reuse one already there.
        let existing: Option<String> = self
            .conn
            .query_row("SELECT id FROM facilitators WHERE email = ?1 AND deleted = 0", [f.email], |r| r.get(0))
            .optional()?;
        match existing {
            Some(id) => Ok(id),
            None => self.create_facilitator(f.name, f.email),
        }
    }
}

struct LoadedCircle {
    summary: DemoCircleSummary,
    marks: usize,
    meets_today: bool,
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn demo_has_circles_in_five_zones_with_history_and_a_future() {
        let (_dir, mut store) = store();
        let summary = store.load_demo(today(), DemoMode::OnlyIntoEmptyStore).unwrap();
        assert_eq!(summary.circles.len(), 5);
        assert_eq!(summary.meets_today, ["Python Programming Basics"]);
        let zones: std::collections::BTreeSet<&str> = summary.circles.iter().map(|c| c.time_zone.as_str()).collect();
        assert_eq!(zones.len(), 5);
        for c in &summary.circles {
            assert!((6..=12).contains(&c.learners), "{}: {} learners", c.name, c.learners);
            assert!((6..=8).contains(&c.meetings), "{}: {} meetings", c.name, c.meetings);
            let meetings = store.meetings(&c.id).unwrap();
            let past = meetings.iter().filter(|m| m.local_date < today()).count();
            assert!(past >= 1, "{} has a past", c.name);
            assert!(past < meetings.len() - 1, "{} has a future", c.name);
        }
        let cancelled: usize = summary
            .circles
            .iter()
            .map(|c| store.meetings(&c.id).unwrap().iter().filter(|m| m.is_cancelled()).count())
            .sum();
        assert_eq!(cancelled, 1);
        assert!(summary.attendance_marks > 40, "{}", summary.attendance_marks);
        assert_eq!(store.list_courses(&CourseFilter::default()).unwrap().len(), COURSES.len() - 1, "one is archived");
        assert!(store.circles().unwrap().iter().any(|c| c.fields.online && !c.fields.meeting_link.is_empty()));
    }

    #[test]
    fn demo_attendance_is_mixed_and_includes_a_withdrawal_and_a_walk_in() {
        let (_dir, mut store) = store();
        let summary = store.load_demo(today(), DemoMode::OnlyIntoEmptyStore).unwrap();
        let python = &summary.circles[0];
        let learners = store.learners(&python.id).unwrap();
        assert!(learners.iter().any(|l| l.fields.withdrawn));
        assert!(learners.iter().any(|l| l.fields.walk_in));
        let marks = store.circle_marks(&python.id).unwrap();
        for mark in Mark::ALL {
            assert!(marks.iter().any(|m| m.mark == mark), "some {mark:?} in {marks:?}");
        }
        let head_counted = summary
            .circles
            .iter()
            .find(|c| c.time_zone == "Europe/Lisbon")
            .map(|c| store.meetings(&c.id).unwrap())
            .unwrap();
        assert_eq!(head_counted.iter().filter_map(|m| m.head_count).collect::<Vec<_>>(), [9, 11, 8]);
    }

    #[test]
    fn demo_has_guides_an_edited_one_and_a_note_for_tonight() {
        let (_dir, mut store) = store();
        let summary = store.load_demo(today(), DemoMode::OnlyIntoEmptyStore).unwrap();
        let python = &summary.circles[0];
        let meetings = store.meetings(&python.id).unwrap();
        let tonight = meetings.iter().find(|m| m.local_date == today()).unwrap();
        let guide = store.guide(&tonight.id).unwrap();
        assert!(guide.stored && guide.customized);
        assert!(guide.sections.iter().any(|s| s.title == "Show and tell: mini projects"));
        assert_eq!((guide.total_minutes, guide.timing_warning), (90, None));
        assert!(guide.note_from_last_meeting.unwrap().text.contains("large-print handout"));
        for c in &summary.circles {
            for m in store.meetings(&c.id).unwrap().iter().filter(|m| !m.is_cancelled()) {
                assert!(store.meeting_guide(&m.id).unwrap().is_some(), "{}: every meeting has a guide", c.name);
            }
        }
        let lisbon = summary.circles.iter().find(|c| c.time_zone == "Europe/Lisbon").unwrap();
        let first = store.circle_guides(&lisbon.id).unwrap();
        assert_eq!(first[0].template, "builtin/pt/first@1");
        assert_eq!(first[0].total_minutes, 120);
    }

    #[test]
    fn demo_meets_today_in_the_today_view() {
        let (_dir, mut store) = store();
        store.load_demo(today(), DemoMode::OnlyIntoEmptyStore).unwrap();
        // Noon in Chicago on the demo's today.
        let noon = Utc.with_ymd_and_hms(2026, 3, 10, 17, 0, 0).unwrap();
        let upcoming = store.upcoming(noon).unwrap();
        assert_eq!(upcoming.len(), 5);
        let today: Vec<&str> = upcoming.iter().filter(|u| u.is_today).map(|u| u.circle_name.as_str()).collect();
        assert_eq!(today, ["Python Programming Basics"]);
    }

    #[test]
    fn every_weekday_gives_each_circle_a_past_and_a_future() {
        for days in 0..7 {
            let (_dir, mut store) = store();
            let today = today() + Days::new(days);
            let summary = store.load_demo(today, DemoMode::OnlyIntoEmptyStore).unwrap();
            assert!(summary.meets_today.contains(&"Python Programming Basics".to_string()), "{today}");
            for c in &summary.circles {
                let dates: Vec<NaiveDate> = store.meetings(&c.id).unwrap().iter().map(|m| m.local_date).collect();
                assert!(dates.iter().any(|d| *d < today), "{today}: {} has a past", c.name);
                assert!(dates.iter().any(|d| *d > today), "{today}: {} has a future", c.name);
            }
        }
    }

    #[test]
    fn demo_made_at_any_hour_meets_today_in_its_own_zone() {
        // 02:56 UTC is still the evening before in Chicago: the demo must
        // place the meeting on Chicago's date, not the UTC one.
        for hour in [2, 9, 16, 23] {
            let (_dir, mut store) = store();
            let now = Utc.with_ymd_and_hms(2026, 11, 29, hour, 56, 0).unwrap();
            store.load_demo_at(now, DemoMode::OnlyIntoEmptyStore).unwrap();
            let today: Vec<String> =
                store.upcoming(now).unwrap().into_iter().filter(|u| u.is_today).map(|u| u.circle_name).collect();
            assert!(today.contains(&"Python Programming Basics".to_string()), "at {now}: {today:?}");
        }
    }

    #[test]
    fn demo_is_deterministic() {
        let (_a, mut first) = store();
        let (_b, mut second) = store();
        first.load_demo(today(), DemoMode::OnlyIntoEmptyStore).unwrap();
        second.load_demo(today(), DemoMode::OnlyIntoEmptyStore).unwrap();
        let content = |store: &Store| {
            store
                .circles()
                .unwrap()
                .iter()
                .map(|c| {
                    let marks: Vec<Mark> = store.circle_marks(&c.id).unwrap().iter().map(|m| m.mark).collect();
                    let dates: Vec<NaiveDate> = store.meetings(&c.id).unwrap().iter().map(|m| m.local_date).collect();
                    (c.fields.name.clone(), marks, dates)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(content(&first), content(&second));
    }

    #[test]
    fn demo_refuses_a_store_with_circles_unless_asked_to_add_alongside() {
        let (_dir, mut store) = store();
        let mine =
            store.create_circle(&CircleInput::new("My own circle", "America/Chicago", "18:00", 90), None).unwrap();
        let before = store.overview().unwrap();
        let err = store.load_demo(today(), DemoMode::OnlyIntoEmptyStore).unwrap_err();
        assert!(err.to_string().contains("already has 1 circle"), "{err}");
        assert_eq!(store.overview().unwrap(), before, "nothing was written");

        store.load_demo(today(), DemoMode::AlongsideExistingData).unwrap();
        store.load_demo(today(), DemoMode::AlongsideExistingData).unwrap();
        assert_eq!(store.circles().unwrap().len(), 11);
        assert!(store.circle(&mine).is_ok());
        assert_eq!(store.teams().unwrap().len(), 1, "the team is reused");
        let courses = store.list_courses(&CourseFilter { include_archived: true, ..Default::default() }).unwrap();
        assert_eq!(courses.len(), COURSES.len(), "courses are reused");
    }

    #[test]
    fn demo_refuses_a_today_it_cannot_place_meetings_around() {
        let (_dir, mut store) = store();
        let late = NaiveDate::from_ymd_opt(2100, 12, 20).unwrap();
        assert!(store.load_demo(late, DemoMode::OnlyIntoEmptyStore).is_err());
        assert!(store.teams().unwrap().is_empty(), "nothing was written");
    }

    fn account() -> crate::sync::status::Account {
        crate::sync::status::Account {
            server_url: "https://circles.example.org".into(),
            email: "dana@example.org".into(),
            user_name: "Dana".into(),
            user_id: String::new(),
            token: "t".into(),
        }
    }

    #[test]
    fn the_demo_marks_its_store_which_then_never_signs_in_or_syncs() {
        let (_dir, mut store) = store();
        assert_eq!(store.first_run().unwrap(), FirstRun { demo: false, welcome: true });
        store.load_demo(today(), DemoMode::OnlyIntoEmptyStore).unwrap();
        assert!(store.is_demo().unwrap());
        assert_eq!(store.first_run().unwrap(), FirstRun { demo: true, welcome: false });
        let err =
            crate::sync::account::sign_in(&mut store, "http://127.0.0.1:9", "dana@example.org", "pw", "laptop", false)
                .unwrap_err();
        assert!(matches!(err, crate::sync::engine::SyncError::Store(CoreError::DemoStore)), "{err}");
        assert_eq!(store.account().unwrap(), None, "nothing remembered");
        struct Nowhere;
        impl crate::sync::engine::Transport for Nowhere {
            fn hello(&self) -> std::result::Result<crate::sync::wire::Hello, crate::sync::engine::SyncError> {
                unreachable!("a demo store never reaches a server")
            }
            fn push(
                &self,
                _: &crate::sync::wire::PushRequest,
            ) -> std::result::Result<crate::sync::wire::PushResponse, crate::sync::engine::SyncError> {
                unreachable!("a demo store never pushes")
            }
            fn pull(
                &self,
                _: i64,
                _: i64,
                _: usize,
            ) -> std::result::Result<crate::sync::wire::PullResponse, crate::sync::engine::SyncError> {
                unreachable!("a demo store never pulls")
            }
        }
        let err = crate::sync::engine::sync_once(&mut store, &Nowhere, &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("This is the demo: it never syncs."), "{err}");
    }

    #[test]
    fn the_demo_is_refused_in_a_store_with_an_account_even_alongside() {
        let (_dir, mut store) = store();
        store.save_account(&account()).unwrap();
        store.forget_token().unwrap();
        let before = store.overview().unwrap();
        for mode in [DemoMode::OnlyIntoEmptyStore, DemoMode::AlongsideExistingData] {
            let err = store.load_demo(today(), mode).unwrap_err();
            assert!(err.to_string().contains("has an account"), "{err}");
            assert!(err.to_string().contains("https://circles.example.org"), "{err}");
            assert_eq!(store.overview().unwrap(), before, "nothing was written");
            assert!(!store.is_demo().unwrap());
        }
        assert_eq!(store.first_run().unwrap(), FirstRun { demo: false, welcome: false });
    }

    #[test]
    fn the_welcome_is_answered_once() {
        let (_dir, mut store) = store();
        store.finish_welcome().unwrap();
        assert_eq!(store.first_run().unwrap(), FirstRun { demo: false, welcome: false });
    }

    #[test]
    fn open_demo_loads_once_and_reset_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 15, 0, 0).unwrap();
        let mut store = open_demo(dir.path(), now).unwrap();
        assert_eq!(store.circles().unwrap().len(), 5);
        let mine = store.create_circle(&CircleInput::new("Added in the demo", "UTC", "18:00", 90), None).unwrap();
        drop(store);
        let store = open_demo(dir.path(), now).unwrap();
        assert_eq!(store.circles().unwrap().len(), 6, "opened, not loaded twice");
        drop(store);
        let store = reset_demo(dir.path(), now).unwrap();
        assert_eq!(store.circles().unwrap().len(), 5);
        assert!(store.circle(&mine).is_err(), "the reset demo is fresh");
        assert!(store.is_demo().unwrap());

        // A real store is never replaced or filled by either.
        let real = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(real.path()).unwrap();
        store.create_circle(&CircleInput::new("Real", "UTC", "18:00", 90), None).unwrap();
        drop(store);
        assert!(open_demo(real.path(), now).is_err());
        assert!(reset_demo(real.path(), now).is_err());
        assert_eq!(Store::open_in(real.path()).unwrap().circles().unwrap().len(), 1);
    }
}
