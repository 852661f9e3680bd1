// The chat panel's look. It lives in the widget's shadow root, so the host page's CSS cannot
// reach it and it cannot reach the page. `--accent` and `--on-accent` come from the chatbot's
// colour (set by the loader).

export const STYLES = `
.panel{position:fixed;bottom:84px;z-index:2147483001;width:370px;height:min(620px,calc(100vh - 104px));
display:flex;flex-direction:column;box-sizing:border-box;overflow:hidden;border-radius:16px;background:#fff;color:#111827;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;box-shadow:0 12px 40px rgba(0,0,0,.22)}
.panel[hidden]{display:none}
.left{left:20px}.right{right:20px}
*{box-sizing:border-box}
[hidden]{display:none!important}
button,input,textarea{font:inherit;color:inherit}
:focus-visible{outline:2px solid var(--accent);outline-offset:1px}
header{display:flex;align-items:center;gap:8px;padding:14px 12px 14px 18px;background:var(--accent);color:var(--on-accent)}
header .titles{flex:1;min-width:0}
h2{margin:0;font-size:16px;font-weight:650;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.subtitle{margin:0;font-size:12.5px}
.icon{display:grid;place-items:center;width:34px;height:34px;border:0;border-radius:8px;background:transparent;cursor:pointer;color:inherit}
.icon:hover{background:rgba(127,127,127,.22)}
.icon svg{width:20px;height:20px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round}
.banner{margin:0;padding:8px 14px;font-size:13px;background:#fef3c7;color:#78350f;border-bottom:1px solid #fde68a}
.queue{display:flex;align-items:center;gap:12px;padding:10px 16px;background:#f1f5f9;background:color-mix(in srgb,var(--accent) 9%,#fff);border-bottom:1px solid #e2e8f0}
.queue:empty{padding:0;border:0}
.queue p{margin:0;font-size:13px;color:#374151}
.queue strong{display:block;font-size:14px;color:#111827}
.place{flex:none;display:grid;place-items:center;min-width:34px;height:34px;padding:0 6px;border-radius:17px;background:var(--accent);color:var(--on-accent);font-weight:700;font-size:16px}
.body{flex:1;overflow-y:auto;padding:14px;background:#f8fafc}
.prechat{display:flex;flex-direction:column;gap:6px;padding:4px}
.prechat p.intro{margin:0 0 8px;color:#374151}
label{font-weight:600;font-size:13px}
input[type=text],input[type=email],textarea{width:100%;padding:10px 12px;border:1px solid #cbd5e1;border-radius:10px;background:#fff}
input[aria-invalid=true]{border-color:#dc2626}
.field-error{margin:0 0 4px;color:#b91c1c;font-size:12.5px;min-height:1em}
.primary{margin-top:6px;padding:11px 14px;border:0;border-radius:10px;background:var(--accent);color:var(--on-accent);font-weight:600;cursor:pointer}
.primary:disabled{opacity:.6;cursor:default}
.log{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:8px}
.msg{display:flex;flex-direction:column;max-width:82%;align-self:flex-start}
.msg.mine{align-self:flex-end;align-items:flex-end}
.msg.system{align-self:center;max-width:92%;text-align:center}
.who{font-size:12px;color:#6b7280;margin:0 4px 2px}
.bubble{padding:8px 12px;border-radius:14px;background:#fff;border:1px solid #e5e7eb;white-space:pre-wrap;overflow-wrap:anywhere}
.mine .bubble{background:var(--accent);color:var(--on-accent);border-color:transparent}
.system .bubble{background:transparent;border:0;color:#4b5563;font-size:13px;padding:2px 8px}
.bubble a{color:inherit;text-decoration:underline}
.meta{font-size:11.5px;color:#6b7280;margin:2px 4px 0}
.typing{margin:0;padding:0 16px 6px;min-height:20px;font-size:12.5px;color:#6b7280;background:#f8fafc}
footer{border-top:1px solid #e5e7eb;padding:10px 12px;background:#fff}
.composer{display:flex;gap:8px;align-items:flex-end}
textarea{resize:none;max-height:120px;min-height:42px}
.send{padding:10px 14px;border:0;border-radius:10px;background:var(--accent);color:var(--on-accent);font-weight:600;cursor:pointer}
.link{margin:6px 0 0;padding:0;border:0;background:none;color:#2563eb;font-size:12.5px;text-decoration:underline;cursor:pointer}
.note{margin:6px 0 0;font-size:12.5px;color:#4b5563}
.ended,.ended+.note{text-align:center}
.ended p{margin:4px 0 8px;color:#374151}
.confirm{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;background:rgba(17,24,39,.45)}
.confirm .card{width:82%;padding:18px;border-radius:14px;background:#fff;display:flex;flex-direction:column;gap:10px}
.confirm p{margin:0;font-weight:600}
.confirm label{font-weight:400;display:flex;gap:8px;align-items:center}
.secondary{padding:10px 14px;border:1px solid #cbd5e1;border-radius:10px;background:#fff;cursor:pointer}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:480px){.panel{inset:0;width:auto;height:auto;border-radius:0}}
`;
