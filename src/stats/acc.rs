//! Accumulators: the figures of every group, and where one fact counts
//! (see the attribution rules in [`super::figures`]).

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::figures::Figures;
use crate::config::Config;
use crate::queue::WindowNo;

/// The figures of every group, as they are being added up.
#[derive(Debug, Default)]
pub(crate) struct Acc {
    pub hall: Figures,
    pub days: BTreeMap<NaiveDate, Figures>,
    pub zones: BTreeMap<String, Figures>,
    pub departments: BTreeMap<String, Figures>,
    pub services: BTreeMap<String, Figures>,
    pub windows: BTreeMap<WindowNo, Figures>,
    pub staff: BTreeMap<String, Figures>,
}

/// Where one fact counts: the hall and the business day always, and each
/// dimension that is known.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    pub day: NaiveDate,
    pub service: Option<&'a str>,
    pub department: Option<&'a str>,
    pub window: Option<WindowNo>,
    pub zone: Option<&'a str>,
    pub staff: Option<&'a str>,
}

impl<'a> Target<'a> {
    /// The department is the service's when there is a service, else the
    /// window's (idle and paused time); the zone is the window's.
    pub fn of(
        config: &'a Config,
        day: NaiveDate,
        service: Option<&'a str>,
        window: Option<WindowNo>,
        staff: Option<&'a str>,
    ) -> Target<'a> {
        let w = window.and_then(|n| config.window(n));
        let department = match service {
            Some(s) => config.service(s).map(|s| s.department.as_str()),
            None => w.and_then(|w| w.department.as_deref()),
        };
        Target {
            day,
            service,
            department,
            window,
            zone: w.map(|w| w.zone.as_str()),
            staff,
        }
    }
}

impl Acc {
    /// Applies `f` to the figures of every group `t` names.
    pub fn bump(&mut self, t: &Target<'_>, f: impl Fn(&mut Figures)) {
        f(&mut self.hall);
        f(self.days.entry(t.day).or_default());
        if let Some(s) = t.service {
            f(entry(&mut self.services, s));
        }
        if let Some(d) = t.department {
            f(entry(&mut self.departments, d));
        }
        if let Some(z) = t.zone {
            f(entry(&mut self.zones, z));
        }
        if let Some(w) = t.window {
            f(self.windows.entry(w).or_default());
        }
        if let Some(s) = t.staff {
            f(entry(&mut self.staff, s));
        }
    }
}

/// `map[key]`, inserting a default without allocating when present.
fn entry<'m>(map: &'m mut BTreeMap<String, Figures>, key: &str) -> &'m mut Figures {
    if !map.contains_key(key) {
        map.insert(key.to_string(), Figures::default());
    }
    map.get_mut(key).expect("inserted above")
}
