public import FoghornHTTPCore

/// `GET /ui` on the internal listener: one self-contained page for operators (no external assets:
/// inline CSS, SVG bars, a little JS) that reads the debug endpoints — edges with state, load bars,
/// last-report age and warnings; streams with their candidate edges; a "why this edge?" explainer
/// drawing `/debug/score`'s terms as stacked bars; peers. It refreshes every 2 s.
///
/// The page holds no data; what it fetches is gated like any read (`internal_auth`): with `all` it
/// asks for the token once and sends it as a bearer header (kept in the tab's sessionStorage).
/// Query parameters fill the explainer and run it: `/ui?playback=demo&ip=81.2.69.142` (or
/// `lat=&lon=`).
public enum StatusPage {
    public static let path = "/ui"

    public static func register(on router: HTTPRouter) {
        router.add("ui", [.get, .head], path) { _, w in
            w.head(.ok)
            w.header("Cache-Control", "no-store")
            w.header("X-Frame-Options", "DENY")
            w.header("X-Content-Type-Options", "nosniff")
            w.header("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:")
            w.body(html, contentType: "text/html; charset=utf-8")
        }
    }

    static let html = #"""
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Foghorn</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d232a}
header{background:#1d232a;color:#fff;padding:10px 20px;display:flex;gap:16px;align-items:baseline}
header h1{font-size:18px;margin:0} header span{opacity:.75}
main{padding:16px 20px;display:grid;gap:16px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:12px 16px}
h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}
th{font-weight:600;color:#4a5561}
.state{font-weight:600;padding:1px 6px;border-radius:3px}
.routable{background:#d7f5dd;color:#17652a}.no_metrics,.stale,.poll_failed,.starting{background:#fde2e1;color:#8c1d18}
.draining,.maintenance{background:#fff1c2;color:#765b00}
.warn{color:#8c1d18;font-size:12px}.note{color:#4a5561;font-size:12px}
.bar{display:inline-block;vertical-align:middle}
form{display:flex;gap:8px;flex-wrap:wrap;align-items:center} input{padding:4px 6px}
.legend span{display:inline-block;margin-right:12px}.sw{display:inline-block;width:10px;height:10px;margin-right:4px}
#winner{font-weight:600} .muted{color:#7a8591}
</style></head>
<body>
<header><h1>Foghorn</h1><span id="gen">…</span><span id="updated"></span></header>
<main>
<section><h2>Why this edge?</h2>
<form id="explain"><label>Playback ID <input name="playback" id="f-playback" required></label>
<label>Viewer IP <input name="ip" id="f-ip" placeholder="81.2.69.142"></label>
<label>or lat <input name="lat" id="f-lat" size="6"></label><label>lon <input name="lon" id="f-lon" size="6"></label>
<button>Explain</button></form>
<p id="explain-result" class="muted">Enter a playback ID: every candidate's score terms, as /play computes them.</p>
<div class="legend" id="legend"></div><svg id="explain-bars" width="100%" height="0"></svg>
</section>
<section><h2>Edges</h2><table id="edges"><thead><tr><th>Node</th><th>State</th><th>CPU</th><th>RAM</th><th>Bandwidth</th><th>Last report</th><th>Streams</th><th>Why</th></tr></thead><tbody></tbody></table></section>
<section><h2>Streams and their candidates</h2><table id="streams"><thead><tr><th>Stream</th><th>Edges carrying it (viewers)</th></tr></thead><tbody></tbody></table></section>
<section><h2>Peers</h2><table id="peers"><thead><tr><th>Cluster</th><th>Mode</th><th>State</th><th>Remote edges</th><th>Last error</th></tr></thead><tbody></tbody></table></section>
</main>
<script>
"use strict";
const TERMS=[["cpu","#4e79a7"],["ram","#59a14f"],["bandwidth","#f28e2b"],["geo","#76b7b2"],["stream_bonus","#b07aa1"],["tag_adjustment","#9c755f"]];
let token=sessionStorage.getItem("foghorn-token")||"";
async function get(path){
  const headers=token?{"Authorization":"Bearer "+token}:{};
  const r=await fetch(path,{headers});
  if(r.status===401||r.status===403){const t=prompt("internal_token for this Foghorn");if(t){token=t;sessionStorage.setItem("foghorn-token",t);return get(path);}}
  if(!r.ok)throw new Error(path+": "+r.status);
  return r.json();
}
function el(tag,text,cls){const e=document.createElement(tag);if(text!==undefined)e.textContent=String(text);if(cls)e.className=cls;return e;}
function svg(tag,attrs){const e=document.createElementNS("http://www.w3.org/2000/svg",tag);for(const k in attrs)e.setAttribute(k,attrs[k]);return e;}
function bar(fraction,label){
  const s=svg("svg",{width:90,height:12,class:"bar"});const f=Math.max(0,Math.min(1,fraction||0));
  s.appendChild(svg("rect",{x:0,y:0,width:90,height:12,fill:"#eef0f3"}));
  s.appendChild(svg("rect",{x:0,y:0,width:90*f,height:12,fill:f>0.85?"#e15759":f>0.6?"#f28e2b":"#59a14f"}));
  const t=svg("title",{});t.textContent=label;s.appendChild(t);
  const span=el("span");span.appendChild(s);span.appendChild(el("span"," "+Math.round(f*100)+"%","muted"));return span;
}
function age(ms){if(ms===null||ms===undefined)return "never";return ms<1000?ms+" ms":(ms/1000).toFixed(1)+" s";}
function fill(tbody,rows){tbody.replaceChildren(...rows);}
async function refresh(){
  try{
    const snap=await get("/debug/snapshot");document.getElementById("gen").textContent="snapshot "+snap.generation+" · "+snap.edges+" edges";
    const data=await get("/v1/edges");const edges=data.edges||[];
    fill(document.querySelector("#edges tbody"),edges.map(e=>{
      const tr=el("tr");tr.dataset.node=e.node_id;
      tr.appendChild(el("td",e.node_id));
      const st=el("td");st.appendChild(el("span",e.state,"state "+e.state));tr.appendChild(st);
      const cpu=el("td");cpu.appendChild(bar(e.cpu_permille/1000,"cpu ‰ "+e.cpu_permille));tr.appendChild(cpu);
      const ram=el("td");ram.appendChild(bar(e.ram_max_bytes?e.ram_used_bytes/e.ram_max_bytes:0,e.ram_used_bytes+" / "+e.ram_max_bytes+" B"));tr.appendChild(ram);
      const bw=el("td");bw.appendChild(bar(e.bw_limit_bytes_per_sec?(e.up_bytes_per_sec+e.pending_bytes_per_sec)/e.bw_limit_bytes_per_sec:0,e.up_bytes_per_sec+" B/s of "+e.bw_limit_bytes_per_sec));tr.appendChild(bw);
      tr.appendChild(el("td",e.static?"static":age(e.last_report_age_ms)));
      tr.appendChild(el("td",Object.keys(e.streams||{}).length));
      const why=el("td");for(const w of e.warnings||[])why.appendChild(el("div",w,"warn"));for(const n of e.notes||[])why.appendChild(el("div",n,"note"));tr.appendChild(why);
      return tr;}));
    const byStream=new Map();
    for(const e of edges)for(const [name,s] of Object.entries(e.streams||{})){if(!byStream.has(name))byStream.set(name,[]);byStream.get(name).push(e.node_id+" ("+s.viewers+")");}
    fill(document.querySelector("#streams tbody"),[...byStream.keys()].sort().map(name=>{const tr=el("tr");tr.dataset.stream=name;tr.appendChild(el("td",name));tr.appendChild(el("td",byStream.get(name).join(", ")));return tr;}));
    const peers=await get("/debug/peers");
    fill(document.querySelector("#peers tbody"),(peers.peers||[]).map(p=>{const tr=el("tr");for(const v of [p.cluster,p.mode,p.state,p.remote_edges,p.last_error||""])tr.appendChild(el("td",v));return tr;}));
    document.getElementById("updated").textContent="updated "+new Date().toLocaleTimeString();
  }catch(err){document.getElementById("updated").textContent=String(err);}
}
async function explain(ev){
  if(ev)ev.preventDefault();
  const p=new URLSearchParams();for(const k of ["playback","ip","lat","lon"]){const v=document.getElementById("f-"+k).value.trim();if(v)p.set(k,v);}
  if(!p.get("playback"))return;
  const out=document.getElementById("explain-result");const chart=document.getElementById("explain-bars");
  try{
    const r=await get("/debug/score?"+p.toString());
    const cands=(r.candidates||[]).slice().sort((a,b)=>(b.total||0)-(a.total||0));
    out.replaceChildren();out.appendChild(el("span","winner: ",""));const w=el("span",r.winner===null?"none":r.winner);w.id="winner";out.appendChild(w);
    out.appendChild(el("span"," — "+(r.reason||r.outcome||"")+(r.viewer&&r.viewer.source?" (viewer position: "+r.viewer.source+")":""),"muted"));
    const legend=document.getElementById("legend");legend.replaceChildren(...TERMS.map(([t,c])=>{const s=el("span");const sw=el("span","","sw");sw.style.background=c;s.appendChild(sw);s.appendChild(document.createTextNode(t));return s;}));
    const max=Math.max(1,...cands.map(c=>TERMS.reduce((a,[t])=>a+Math.max(0,c[t]||0),0)));
    const rowH=22,labelW=220,width=Math.max(400,chart.clientWidth||800);chart.setAttribute("height",cands.length*rowH+4);chart.replaceChildren();
    cands.forEach((c,i)=>{
      const y=i*rowH+2;const g=svg("g",{"data-node":c.node_id});
      const label=svg("text",{x:0,y:y+14,"font-size":12,"font-weight":c.node_id===r.winner?"bold":"normal"});label.textContent=c.node_id+(c.excluded?" — excluded: "+c.excluded:"")+" = "+(c.total||0);g.appendChild(label);
      let x=labelW;for(const [t,col] of TERMS){const v=Math.max(0,c[t]||0);const w=(width-labelW-10)*v/max;if(w>0){const rect=svg("rect",{x,y,width:w,height:rowH-6,fill:col});const tt=svg("title",{});tt.textContent=t+" "+v;rect.appendChild(tt);g.appendChild(rect);x+=w;}}
      chart.appendChild(g);});
  }catch(err){out.textContent=String(err);}
}
document.getElementById("explain").addEventListener("submit",explain);
const q=new URLSearchParams(location.search);for(const k of ["playback","ip","lat","lon"])if(q.get(k))document.getElementById("f-"+k).value=q.get(k);
refresh().then(()=>{if(q.get("playback"))explain();});
setInterval(refresh,2000);
</script>
</body></html>
"""#
}
