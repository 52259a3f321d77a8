// The console's only stylesheet and script, served by the app (GET /ops/assets/:file):
// no CDN, no browser build step. The script is progressive enhancement — every page works
// without it; with it, the Overview's live section refreshes itself every few seconds.
export const OPS_CSS = `
:root { --fg:#1d232a; --muted:#6b7380; --line:#d9dde3; --ok:#2f8f4e; --bad:#c2410c; --bg:#f7f8fa; --accent:#1f5fbf; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; gap:1.5rem; align-items:center; padding:.6rem 1.2rem; background:#fff; border-bottom:1px solid var(--line); }
header nav a { margin-right:1rem; color:var(--fg); text-decoration:none; }
header nav a.active { color:var(--accent); font-weight:600; border-bottom:2px solid var(--accent); }
header .logout { margin-left:auto; }
main { padding:1rem 1.2rem 3rem; max-width:1400px; }
h1 { font-size:1.4rem; margin:.2rem 0 1rem; } h2 { font-size:1.05rem; margin:1.6rem 0 .5rem; }
a { color:var(--accent); }
table { border-collapse:collapse; background:#fff; margin:.3rem 0; }
th, td { border:1px solid var(--line); padding:.25rem .5rem; text-align:left; vertical-align:top; }
th { background:#eef1f5; font-weight:600; }
table.kv th { width:14rem; }
.muted { color:var(--muted); }
.banner { margin:0; padding:.5rem 1.2rem; background:#fff4d6; border-bottom:1px solid #e8c66a; }
.error, .warn { color:var(--bad); }
.errbox { background:#fff1ec; border:1px solid #f3b9a3; padding:.5rem .7rem; margin:.6rem 0; white-space:pre-wrap; }
.tiles { display:flex; flex-wrap:wrap; gap:.6rem; }
.tile { background:#fff; border:1px solid var(--line); padding:.5rem .8rem; min-width:8rem; }
.tile b { font-size:1.3rem; display:block; } .tile.warn { border-color:var(--bad); }
.charts { display:flex; flex-wrap:wrap; gap:1.5rem; }
figure.chart { margin:0; background:#fff; border:1px solid var(--line); padding:.4rem .6rem; }
figure.chart figcaption { font-size:.85rem; margin-bottom:.2rem; }
svg rect.ok { fill:var(--ok); } svg rect.bad { fill:var(--bad); } svg .axis { stroke:var(--line); }
.legend .sw { display:inline-block; width:.8rem; height:.8rem; margin:0 .2rem 0 .8rem; vertical-align:middle; }
.legend .sw.ok { background:var(--ok); } .legend .sw.bad { background:var(--bad); }
form.inline { display:inline; }
form.filters { display:flex; flex-wrap:wrap; gap:.5rem 1rem; align-items:flex-end; background:#fff; border:1px solid var(--line); padding:.6rem; }
form.filters label { display:flex; flex-direction:column; font-size:.8rem; color:var(--muted); }
form.filters label.check { flex-direction:row; gap:.2rem; color:var(--fg); font-size:.9rem; }
form.filters fieldset { border:1px solid var(--line); display:flex; gap:.6rem; }
form.login { display:flex; flex-direction:column; gap:.6rem; max-width:24rem; }
form.login label { display:flex; flex-direction:column; gap:.2rem; }
input[type=text], input[type=password], select { font:inherit; padding:.2rem .3rem; }
button { font:inherit; padding:.2rem .7rem; cursor:pointer; }
button.retry { border-color:var(--accent); } button.cancel { border-color:var(--bad); }
details.json pre, pre { background:#fff; border:1px solid var(--line); padding:.5rem; overflow:auto; max-height:30rem; }
.st { padding:0 .3rem; border-radius:3px; } .st-failed { background:#fde2d7; } .st-completed { background:#dcf2e3; }
.st-pending { background:#e8eefb; } .st-running { background:#fff1c2; } .st-cancelled { background:#eceff3; }
td.sample { max-width:28rem; overflow-wrap:anywhere; }
.sbs { display:flex; gap:1rem; align-items:flex-start; }
.sbs .col { flex:1; background:#fff; border:1px solid var(--line); padding:.5rem .8rem; min-width:0; }
.transcript { line-height:1.8; }
del { background:#fde2d7; color:#8a2c0a; } ins { background:#d7f0de; color:#145c2c; text-decoration:none; font-weight:600; }
table.matrix td { text-align:right; } td.diag { background:#f3f4f6; text-align:center; }
ul.ids { columns:2; font-family:ui-monospace, monospace; font-size:.85rem; }
`;

export const OPS_JS = `
// AI Service ops console: progressive enhancement only.
(function () {
  'use strict';
  function refresh(el) {
    var every = Number(el.getAttribute('data-refresh')) || 5000;
    setTimeout(function tick() {
      var url = new URL(location.href);
      url.searchParams.set('fragment', '1');
      fetch(url, { credentials: 'same-origin', headers: { accept: 'text/html' }, redirect: 'manual' })
        .then(function (r) {
          if (r.type === 'opaqueredirect' || r.status === 303 || r.status === 401) { location.reload(); return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) {
          if (html === null) return;
          var doc = new DOMParser().parseFromString(html, 'text/html');
          var next = doc.getElementById('live');
          var cur = document.getElementById('live');
          if (next && cur) cur.replaceWith(document.importNode(next, true));
        })
        .catch(function () {})
        .then(function () { setTimeout(tick, every); });
    }, every);
  }
  document.addEventListener('DOMContentLoaded', function () {
    var live = document.getElementById('live');
    if (live) refresh(live);
  });
})();
`;
