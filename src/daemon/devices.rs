//! Starting the device layer for `hallq serve`: the simulator for buses
//! whose port is `"sim"`, real serial ports for the others.

use std::io;
use std::sync::Arc;

use super::clock::{Clock, SystemClock};
use super::owner::HallHandle;
use crate::config::Config;
use crate::config::model::{BusConfig, SIM_PORT};
use crate::devices::bus::link::BoxWire;
use crate::devices::bus::task::Opener;
use crate::devices::bus::{Devices, port};
use crate::sim::devices::{SimHall, SimSpec};

/// The running devices, and the simulator behind the `"sim"` buses.
pub struct RunningDevices {
    pub devices: Arc<Devices>,
    pub sim: Option<SimHall>,
}

/// Starts the device layer; `None` when the hall has no devices.
/// `print_sim` prints every change of a simulated device on standard error.
pub async fn start(
    config: Arc<Config>,
    handle: HallHandle,
    print_sim: bool,
) -> anyhow::Result<Option<RunningDevices>> {
    if config.devices().is_empty() {
        return Ok(None);
    }
    let sim = start_sim(&config)?;
    if print_sim && let Some(sim) = &sim {
        let mut changes = sim.changes();
        tokio::spawn(async move {
            loop {
                match changes.recv().await {
                    Ok(change) => eprintln!("[sim] {change}"),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        eprintln!("[sim] … {n} changes not shown");
                    }
                    Err(_) => return,
                }
            }
        });
    }
    let open = opener(sim.clone());
    let devices = Devices::start(config, handle, open, Arc::new(|| SystemClock.now_ms()))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Some(RunningDevices {
        devices: Arc::new(devices),
        sim,
    }))
}

/// Starts the simulator when some bus's port is `"sim"`.
pub fn start_sim(config: &Config) -> io::Result<Option<SimHall>> {
    if config.buses().iter().any(|b| b.port == SIM_PORT) {
        SimHall::start(SimSpec::from_config(config)).map(Some)
    } else {
        Ok(None)
    }
}

/// Port openers: the simulator's PTY for `"sim"` buses, the device path otherwise.
pub fn opener(sim: Option<SimHall>) -> impl FnMut(&BusConfig) -> Opener {
    move |bus: &BusConfig| -> Opener {
        if bus.port == SIM_PORT {
            let (sim, name) = (sim.clone(), bus.name.clone());
            Box::new(move || {
                sim.as_ref()
                    .and_then(|s| s.take_port(&name))
                    .map(|p| Box::new(p) as BoxWire)
                    .ok_or_else(|| io::Error::other("the simulator's port is taken"))
            })
        } else {
            let bus = bus.clone();
            Box::new(move || port::open(&bus))
        }
    }
}
