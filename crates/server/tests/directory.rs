//! The facilitator directory is scoped (issue 14, item 6): a laptop holds
//! the names and emails of its person's contacts only (their teams' members,
//! whoever sees one of their circles), on both backends. Someone who becomes
//! a contact later arrives with their rows as they stand, even when the
//! laptop's stream passed them long ago; someone who stops being one stops
//! sending news.

mod common;

use std::collections::BTreeMap;

use circles_core::TeamRole;
use common::device::Device;
use common::{Backend, Client, TestServer};
use serde_json::json;

/// The facilitators a laptop holds: id -> (name, email).
fn directory(client: &Client) -> BTreeMap<String, (String, String)> {
    let conn = common::laptop_sql(client.store.path());
    let mut stmt = conn.prepare("SELECT id, coalesce(name, ''), coalesce(email, '') FROM facilitators").unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?)))).unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

fn emails(client: &Client) -> Vec<String> {
    let mut emails: Vec<String> = directory(client).into_values().map(|(_, email)| email).collect();
    emails.sort();
    emails
}

struct World {
    server: TestServer,
    team: String,
    alma: String,
}

fn world(backend: Backend) -> World {
    let server = TestServer::start(backend);
    let team = server.storage.add_team("Riverbend Public Library").unwrap();
    let team2 = server.storage.add_team("Lakeside Library").unwrap();
    server.add_user("olga@example.org", "Olga");
    let alma = server.add_user("alma@example.org", "Alma");
    server.add_user("xavier@example.org", "Xavier");
    server.add_user("pia@example.org", "Pia");
    server.storage.add_team_member(&team, "olga@example.org", TeamRole::Organizer).unwrap();
    server.storage.add_team_member(&team, "alma@example.org", TeamRole::Member).unwrap();
    server.storage.add_team_member(&team2, "xavier@example.org", TeamRole::Organizer).unwrap();
    World { server, team, alma }
}

fn only_contacts_are_received(backend: Backend) {
    let w = world(backend);
    let mut olga = Client::new(&w.server, "olga@example.org");
    let mut xavier = Client::new(&w.server, "xavier@example.org");
    let mut pia = Client::new(&w.server, "pia@example.org");
    olga.sync();
    xavier.sync();
    pia.sync();
    assert_eq!(emails(&olga), ["alma@example.org", "olga@example.org"]);
    assert_eq!(emails(&xavier), ["xavier@example.org"]);
    assert_eq!(emails(&pia), ["pia@example.org"]);
    // Teams themselves stay everyone's (a team is not a person).
    let teams: i64 =
        common::laptop_sql(pia.store.path()).query_row("SELECT count(*) FROM teams", [], |r| r.get(0)).unwrap();
    assert_eq!(teams, 2);
    // Nothing kept aside: no one's membership reaches a laptop without them.
    for client in [&olga, &xavier, &pia] {
        let kept: i64 = common::laptop_sql(client.store.path())
            .query_row("SELECT count(*) FROM kept_aside", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 0);
    }
}

#[test]
fn only_contacts_are_received_sqlite() {
    only_contacts_are_received(Backend::Sqlite);
}

#[test]
fn only_contacts_are_received_postgres() {
    only_contacts_are_received(Backend::Postgres);
}

fn a_new_contact_arrives_as_they_stand_and_a_former_one_stops(backend: Backend) {
    let w = world(backend);
    let raw = w.server.raw();
    let mut alma_device = Device::new(&w.server, "alma@example.org", "alma-laptop");
    let (status, answer) =
        alma_device.push(&raw, vec![alma_device.change("facilitators", &w.alma, "name", json!("Alma Reyes"))]);
    assert_eq!(status, 200, "{answer}");
    let mut pia = Client::new(&w.server, "pia@example.org");
    pia.sync();
    assert!(!directory(&pia).contains_key(&w.alma));
    // More history after Pia's cursor, none of it hers to see.
    w.server.storage.add_team("Hillside Library").unwrap();
    pia.sync();

    // Pia joins the team: at her next sync she has Alma's and Olga's rows as
    // they stand, though her stream passed them before she knew them.
    w.server.storage.add_team_member(&w.team, "pia@example.org", TeamRole::Member).unwrap();
    pia.sync();
    assert_eq!(emails(&pia), ["alma@example.org", "olga@example.org", "pia@example.org"]);
    assert_eq!(directory(&pia)[&w.alma].0, "Alma Reyes");
    // And Alma has Pia's.
    let mut alma = Client::new(&w.server, "alma@example.org");
    alma.sync();
    assert!(emails(&alma).contains(&"pia@example.org".to_string()));

    // News travels while they are contacts.
    let (status, answer) =
        alma_device.push(&raw, vec![alma_device.change("facilitators", &w.alma, "name", json!("Alma R."))]);
    assert_eq!(status, 200, "{answer}");
    pia.sync();
    assert_eq!(directory(&pia)[&w.alma].0, "Alma R.");

    // Pia leaves the team: no more news of Alma reaches her.
    w.server.storage.remove_team_member(&w.team, "pia@example.org").unwrap();
    pia.sync();
    let (status, answer) =
        alma_device.push(&raw, vec![alma_device.change("facilitators", &w.alma, "email", json!("alma@riverbend.org"))]);
    assert_eq!(status, 200, "{answer}");
    pia.sync();
    assert_eq!(directory(&pia)[&w.alma].1, "alma@example.org", "a former contact's new email reached Pia");
    alma.sync();
    assert_eq!(directory(&alma)[&w.alma].1, "alma@riverbend.org");
}

#[test]
fn a_new_contact_arrives_as_they_stand_and_a_former_one_stops_sqlite() {
    a_new_contact_arrives_as_they_stand_and_a_former_one_stops(Backend::Sqlite);
}

#[test]
fn a_new_contact_arrives_as_they_stand_and_a_former_one_stops_postgres() {
    a_new_contact_arrives_as_they_stand_and_a_former_one_stops(Backend::Postgres);
}

/// The page that brought a new contact's rows was lost: asking again from
/// the same cursor brings them again; a pull past it does not.
fn a_lost_answer_is_answered_again(backend: Backend) {
    let w = world(backend);
    let raw = w.server.raw();
    let pia = Device::new(&w.server, "pia@example.org", "pia-laptop");
    let (_, cursor) = pia.pull_all(&raw, 0, 500);
    w.server.storage.add_team_member(&w.team, "pia@example.org", TeamRole::Member).unwrap();
    let almas_email = |page: &serde_json::Value| {
        page["changes"].as_array().unwrap().iter().any(|c| {
            c["table"] == json!("facilitators") && c["row_id"] == json!(w.alma) && c["field"] == json!("email")
        })
    };
    let first = pia.pull(&raw, cursor, 500);
    assert!(almas_email(&first), "{first}");
    let again = pia.pull(&raw, cursor, 500);
    assert!(almas_email(&again), "{again}");
    let next = again["cursor"].as_i64().unwrap();
    assert!(next > cursor, "joining the team logged her membership");
    let after = pia.pull(&raw, next, 500);
    assert!(!almas_email(&after), "{after}");
}

#[test]
fn a_lost_answer_is_answered_again_sqlite() {
    a_lost_answer_is_answered_again(Backend::Sqlite);
}

#[test]
fn a_lost_answer_is_answered_again_postgres() {
    a_lost_answer_is_answered_again(Backend::Postgres);
}

/// Each of a person's laptops has passed its own part of the log: the one
/// that had synced further still gets a new contact's rows, whichever
/// laptop learns of the contact first.
fn every_laptop_of_a_person_gets_a_new_contact(backend: Backend) {
    let w = world(backend);
    let mut behind = Client::new(&w.server, "pia@example.org");
    behind.sync();
    w.server.storage.add_team("Hillside Library").unwrap();
    let mut ahead = Client::new(&w.server, "pia@example.org");
    ahead.sync();
    w.server.storage.add_team_member(&w.team, "pia@example.org", TeamRole::Member).unwrap();
    behind.sync();
    ahead.sync();
    for laptop in [&behind, &ahead] {
        assert_eq!(emails(laptop), ["alma@example.org", "olga@example.org", "pia@example.org"]);
    }
}

#[test]
fn every_laptop_of_a_person_gets_a_new_contact_sqlite() {
    every_laptop_of_a_person_gets_a_new_contact(Backend::Sqlite);
}

#[test]
fn every_laptop_of_a_person_gets_a_new_contact_postgres() {
    every_laptop_of_a_person_gets_a_new_contact(Backend::Postgres);
}
