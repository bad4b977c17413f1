// The index page: static links to every page. When this browser already
// holds a credential (a display key or a sign-in), it also lists this hall's
// own zones and windows; otherwise it fetches nothing.
"use strict";

(function () {
  const DEMO_WINDOWS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
    21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32];

  function demoWindows() {
    const p = document.getElementById("demo-window-links");
    p.replaceChildren(
      ...DEMO_WINDOWS.map((n) => HQ.el("a", { href: "/window/" + n + "#key=demo-display", class: "num" }, String(n)))
    );
  }

  let hall = null;
  function renderHall() {
    if (!hall) return;
    const name = HQ.t(hall.name, hall.name_en);
    document.getElementById("hall-name").textContent = name;
    document.title = name;
    const zones = hall.zones && hall.zones.length
      ? hall.zones
      : [...new Map(hall.windows.map((w) => [w.zone, { id: w.zone, name: w.zone_name || w.zone, name_en: w.zone_name_en || w.zone, floor: w.floor }])).values()];
    document.getElementById("zone-links").replaceChildren(
      ...zones.map((z) =>
        HQ.el("a", { href: "/screen?zone=" + encodeURIComponent(z.id), class: "chip" },
          HQ.t(z.name, z.name_en), HQ.el("span", { class: "mono muted" }, " " + z.id))
      )
    );
    document.getElementById("window-links").replaceChildren(
      ...hall.windows.map((w) =>
        HQ.el("a", { href: "/window/" + w.number, class: "num", title: HQ.t(w.name, w.name_en) }, String(w.number))
      )
    );
    document.getElementById("this-hall").classList.remove("hidden");
  }

  async function tryHall() {
    if (!HQ.credential()) return;
    try {
      hall = await HQ.api("GET", "/api/v1/hall");
      renderHall();
    } catch (e) {
      // A kiosk key or an expired sign-in: the static links are enough.
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    HQ.applyLang();
    HQ.wireLangSwitch();
    HQ.onLang(renderHall);
    demoWindows();
    tryHall();
  });
})();
