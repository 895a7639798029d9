/**
 * The console's one stylesheet, served as /console/static/<build>/console.css (CSP style-src 'self': no
 * inline styles). System fonts, no framework; one column at phone width (375 px), visible keyboard focus.
 */
export const CONSOLE_CSS = `
:root{--fg:#1c1f24;--muted:#5b6470;--bg:#fff;--panel:#f5f6f8;--line:#d9dde3;--accent:#1a5fb4;--accent-fg:#fff;--ok:#1d7a3a;--bad:#b3261e;--warn:#8a5a00;--focus:#f6b400;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,Ubuntu,sans-serif;font-size:16px;line-height:1.45;color:var(--fg);background:var(--bg)}
*{box-sizing:border-box}
body{margin:0}
a{color:var(--accent)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:var(--bg);padding:.5rem}
.skip:focus{left:.5rem}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.6rem 1rem;border-bottom:1px solid var(--line);background:var(--panel)}
header.top .brand{font-weight:700;text-decoration:none;color:var(--fg);margin-right:auto}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem .9rem}
nav a[aria-current=page]{font-weight:700;text-decoration:none;color:var(--fg)}
nav.sub{margin:.25rem 0 1rem;border-bottom:1px solid var(--line);padding-bottom:.5rem}
main{max-width:70rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.2rem 0 .8rem;word-break:break-word}
h2{font-size:1.15rem;margin:1.6rem 0 .6rem}
p.lead{color:var(--muted);margin-top:-.4rem}
form.stack{display:grid;gap:.8rem;max-width:36rem}
form.inline{display:inline}
form.row{display:flex;flex-wrap:wrap;gap:.6rem;align-items:flex-end;margin:.5rem 0}
label{display:grid;gap:.25rem;font-weight:600}
label .hint,.hint{font-weight:400;color:var(--muted);font-size:.9rem}
fieldset{border:1px solid var(--line);border-radius:6px;padding:.6rem .8rem}
fieldset label{display:flex;gap:.4rem;align-items:center;font-weight:400}
input,select,textarea{font:inherit;padding:.45rem .55rem;border:1px solid #9aa3ad;border-radius:5px;background:#fff;color:var(--fg);max-width:100%;min-width:0}
textarea{min-height:6rem;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
button,.button{font:inherit;font-weight:600;padding:.45rem .9rem;border-radius:5px;border:1px solid var(--accent);background:var(--accent);color:var(--accent-fg);cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#fff;color:var(--accent)}
button.danger{background:#fff;color:var(--bad);border-color:var(--bad)}
button:disabled{opacity:.55;cursor:not-allowed}
.alert{border-radius:6px;padding:.6rem .8rem;margin:.8rem 0;border:1px solid}
.alert p{margin:.25rem 0}
figure{margin:0}
.alert.error{background:#fdecea;border-color:#f3b4ae;color:#7d1a13}
.alert.ok{background:#e8f5ec;border-color:#a6d8b4;color:#134d25}
.alert.info{background:#eef3fb;border-color:#b8cbea}
.secret{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all;background:#fff;border:1px dashed var(--line);padding:.4rem;display:block;margin:.4rem 0}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--panel);font-weight:600;white-space:nowrap}
td time{white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr:last-child td,tr:last-child th{border-bottom:0}
tbody th{background:none}
meter{width:100%;max-width:24rem;height:1.2rem}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:.6rem;overflow-x:auto;white-space:pre;max-height:28rem}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:999px;font-size:.8rem;font-weight:600;border:1px solid var(--line);background:var(--panel)}
.badge.published,.badge.approved,.badge.ok{color:var(--ok);border-color:#a6d8b4;background:#e8f5ec}
.badge.rejected,.badge.suspended,.badge.bad{color:var(--bad);border-color:#f3b4ae;background:#fdecea}
.badge.review{color:var(--warn);border-color:#ecd29a;background:#fff6e0}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(9.5rem,1fr));gap:.7rem;margin:.6rem 0}
.tile{border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem;background:var(--panel)}
.tile .value{font-size:1.5rem;font-weight:700;font-variant-numeric:tabular-nums}
.tile .label{color:var(--muted);font-size:.85rem}
.widget{border:1px solid var(--line);border-radius:8px;padding:.8rem;margin:1rem 0}
.widget h2{margin-top:0}
.unavailable{color:var(--muted);font-style:italic}
.chart{min-height:14rem;width:100%}
.chart .u-legend{font-size:.8rem}
details summary{cursor:pointer;color:var(--accent);margin:.4rem 0}
.progress{display:grid;gap:.3rem;max-width:36rem}
progress{width:100%;height:1.1rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:.5rem 0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;word-break:break-all}
.live-status{color:var(--muted);font-size:.9rem}
tr.fresh td{background:#fff6cc}
.pager{margin:.8rem 0}
@media (max-width:40rem){main{padding:.7rem}h1{font-size:1.3rem}.tiles{grid-template-columns:repeat(2,1fr)}dl.facts{grid-template-columns:1fr}dl.facts dt{margin-top:.4rem}}
`;

/** The console's icon (a browser asks for one on every first visit: without it, a 404 in its console). */
export const CONSOLE_ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1a5fb4"/><path d="M7 24V8h4l5 8 5-8h4v16h-4V15l-5 8-5-8v9z" fill="#fff"/></svg>`;
