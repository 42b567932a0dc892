// Kith web chat. Model text is rendered with markdown-it (raw HTML off, images off) and then
// sanitised with DOMPurify before it touches the DOM; everything else is set as textContent.
"use strict";

const bot = document.body.dataset.bot;
let model = document.body.dataset.model;
const base = `/chat/${bot}`;
const store = {
  session: `kith-session-${bot}`,
  chats: `kith-chats-${bot}`,
};
const $ = (id) => document.getElementById(id);
const log = $("log"), text = $("text"), send = $("send"), statusLine = $("status");
let busy = 0;

// -- ids: crypto.getRandomValues works in insecure contexts (randomUUID does not) ---------
function newId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// -- conversations, kept in this browser; the server keeps every one of them --------------
function loadChats() {
  try { return JSON.parse(localStorage.getItem(store.chats)) || []; } catch { return []; }
}
function saveChats(chats) { localStorage.setItem(store.chats, JSON.stringify(chats.slice(0, 100))); }
let chats = loadChats();
let session = localStorage.getItem(store.session);
if (!session) { session = newId(); localStorage.setItem(store.session, session); }
if (!chats.some((c) => c.id === session)) { chats.unshift({ id: session, title: "", at: Date.now() }); saveChats(chats); }

const botTitle = document.title;
function renderChats() {
  const list = $("chats");
  list.replaceChildren();
  const current = chats.find((c) => c.id === session);
  $("heading").textContent = (current && current.title) || botTitle;
  for (const chat of chats) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = chat.title || "New conversation";
    const when = document.createElement("small");
    when.textContent = new Date(chat.at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
    button.appendChild(when);
    button.setAttribute("aria-current", chat.id === session ? "true" : "false");
    button.addEventListener("click", () => { switchTo(chat.id); closeMenu(); });
    item.appendChild(button);
    list.appendChild(item);
  }
}
function touchChat(firstMessage) {
  const chat = chats.find((c) => c.id === session);
  if (!chat) return;
  if (!chat.title) chat.title = firstMessage.slice(0, 60);
  chat.at = Date.now();
  chats = [chat, ...chats.filter((c) => c !== chat)];
  saveChats(chats);
  renderChats();
}
function switchTo(id) {
  session = id;
  localStorage.setItem(store.session, id);
  renderChats();
  log.replaceChildren(); // the old conversation goes at once, not when the history arrives
  loadHistory();
  text.focus();
}
$("new").addEventListener("click", () => {
  const current = chats.find((c) => c.id === session);
  if (current && !current.title) { text.focus(); closeMenu(); return; } // already empty
  const id = newId();
  chats.unshift({ id, title: "", at: Date.now() });
  saveChats(chats);
  switchTo(id);
  closeMenu();
});
function closeMenu() { $("app").classList.remove("menu-open"); $("menu").setAttribute("aria-expanded", "false"); }
document.querySelector(".main").addEventListener("click", (event) => {
  if ($("app").classList.contains("menu-open") && event.target !== $("menu")) closeMenu();
}, true);
document.addEventListener("keydown", (event) => { if (event.key === "Escape") closeMenu(); });
$("menu").addEventListener("click", () => {
  const open = $("app").classList.toggle("menu-open");
  $("menu").setAttribute("aria-expanded", String(open));
});

// -- rendering ------------------------------------------------------------------------------
const md = window.markdownit({ html: false, linkify: true, breaks: true });
md.disable(["image"]); // no remote images: they would leak that you read the reply
DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});
const PURIFY = {
  RETURN_DOM_FRAGMENT: true,
  FORBID_TAGS: ["img", "style", "form", "input", "button", "textarea", "select", "iframe", "svg", "math"],
  FORBID_ATTR: ["style", "class", "id"],
};

function copyText(value) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(value);
  const area = document.createElement("textarea"); // plain HTTP: the old way still works
  area.value = value;
  area.setAttribute("readonly", "");
  area.className = "sr-only";
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
}

function decorateCode(root) {
  for (const pre of root.querySelectorAll("pre")) {
    const code = pre.querySelector("code");
    const lang = (code && /language-([\w+-]+)/.exec(code.getAttribute("data-lang") || "")) || null;
    const box = document.createElement("div");
    box.className = "code";
    const head = document.createElement("header");
    const label = document.createElement("span");
    label.textContent = lang ? lang[1] : "code";
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy code");
    button.addEventListener("click", () => {
      copyText((code || pre).textContent).then(
        () => { button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy"; }, 1500); },
        () => { button.textContent = "Select and copy"; });
    });
    head.append(label, button);
    pre.replaceWith(box);
    box.append(head, pre);
  }
}

function renderMarkdown(el, source) {
  // markdown-it tags fences with class="language-x"; classes are dropped by the sanitiser,
  // so keep the language in a data attribute first
  const html = md.render(source).replace(/<code class="language-([\w+-]+)">/g, '<code data-lang="language-$1">');
  const fragment = DOMPurify.sanitize(html, PURIFY);
  decorateCode(fragment);
  el.replaceChildren(fragment);
}

function bubble(role, body, opts = {}) {
  const div = document.createElement("div");
  div.className = `msg ${role}`;
  if (opts.command) div.classList.add("command");
  fill(div, role, body, opts.command);
  log.appendChild(div);
  return div;
}
function fill(div, role, body, command) {
  if (role === "assistant" && !command) renderMarkdown(div, body);
  else div.textContent = body;
}
function typing(div) {
  const dots = document.createElement("span");
  dots.className = "typing";
  dots.setAttribute("aria-label", "Kith is writing");
  dots.append(document.createElement("i"), document.createElement("i"), document.createElement("i"));
  div.replaceChildren(dots);
}
function nearBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 80; }
function toBottom() { log.scrollTop = log.scrollHeight; }
function showEmpty() {
  const box = document.createElement("div");
  box.className = "empty";
  const h = document.createElement("h2");
  h.textContent = "What's on your mind?";
  const p = document.createElement("p");
  p.textContent = "Ask anything. Replies stay on your own machine. Type /help for commands.";
  box.append(h, p);
  log.replaceChildren(box);
}

// -- history ---------------------------------------------------------------------------------
async function fetchHistory() {
  const res = await fetch(`${base}/history?session=${encodeURIComponent(session)}`, { cache: "no-store" });
  if (!res.ok) throw new Error(`history: ${res.status}`);
  return res.json();
}
async function loadHistory() {
  const mine = session;
  let turns;
  try { turns = await fetchHistory(); } catch { log.replaceChildren(); bubble("failed", "Could not load this conversation."); return; }
  if (mine !== session) return;
  log.replaceChildren();
  if (!turns.length) { showEmpty(); return; }
  for (const turn of turns) bubble(turn.role, turn.text, { command: turn.command });
  showProposals();
  const chat = chats.find((c) => c.id === session);
  if (chat && !chat.title) { chat.title = turns[0].text.slice(0, 60); saveChats(chats); renderChats(); }
  toBottom();
}

// -- sending, streaming, and picking a reply up again after the connection dropped ----------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function stream(res, div, command) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let reply = "", frame = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    reply += value;
    if (!frame) {
      frame = requestAnimationFrame(() => {
        frame = 0;
        const stick = nearBottom();
        fill(div, "assistant", reply, command);
        if (stick) toBottom();
      });
    }
  }
  if (frame) cancelAnimationFrame(frame);
  if (reply) { const stick = nearBottom(); fill(div, "assistant", reply, command); if (stick) toBottom(); }
  return reply;
}

async function pickUp(id, div, command, mine) {
  // The message was sent, the reply did not reach us. Ask for the reply to this id: the
  // server's GET /reply waits for it; where that is missing, the stored history has it.
  const until = Date.now() + 10 * 60 * 1000;
  const show = (body, failed) => {
    if (mine !== session) return;
    div.className = failed ? "msg failed" : `msg assistant${command ? " command" : ""}`;
    fill(div, failed ? "failed" : "assistant", body, command);
    toBottom();
  };
  for (let wait = 700; Date.now() < until; wait = Math.min(wait * 1.5, 3000)) {
    try {
      const res = await fetch(`${base}/reply?session=${encodeURIComponent(mine)}&id=${id}&wait=25`, { cache: "no-store" });
      const type = res.headers.get("content-type") || "";
      if (res.ok && type.startsWith("application/json")) {
        const state = await res.json();
        setStatus();
        if (state.text && ["answered", "delivered"].includes(state.status)) { show(state.text); return true; }
        if (["failed", "undeliverable"].includes(state.status)) { show(state.text || "Kith could not answer this message.", !state.text); return true; }
        if (state.status === "held") show("No model is answering right now. Your message is kept and will be answered here.", true);
        continue; // pending or held: the server waited already, ask again
      }
      const turns = await fetchHistory(); // no /reply on this server: look in the history
      setStatus();
      const answer = turns.find((t) => t.role === "assistant" && t.id === id);
      if (answer) { show(answer.text); return true; }
    } catch { setStatus("offline"); }
    await sleep(wait);
  }
  return false;
}

// -- approval controls: Yes / No under each action waiting for the person's answer ---------
async function showProposals() {
  const mine = session;
  let waiting = [];
  try {
    const res = await fetch(`${base}/proposals?session=${encodeURIComponent(mine)}`, { cache: "no-store" });
    if (res.ok) waiting = await res.json();
  } catch { return; }
  if (mine !== session) return;
  for (const old of log.querySelectorAll(".proposal")) old.remove();
  for (const p of waiting) {
    const box = document.createElement("div");
    box.className = "msg proposal";
    box.dataset.action = p.action;
    const line = document.createElement("p");
    line.textContent = `Do this? ${p.summary}`;
    const yes = document.createElement("button"), no = document.createElement("button");
    yes.type = no.type = "button";
    yes.className = "btn primary"; yes.textContent = "Yes, do it";
    no.className = "btn"; no.textContent = "No";
    const answer = (approve) => {
      yes.disabled = no.disabled = true; // one answer per press: the server decides once too
      box.remove();
      submit(approve ? "yes" : "no", { action: p.action, approve });
    };
    yes.addEventListener("click", () => answer(true));
    no.addEventListener("click", () => answer(false));
    box.append(line, yes, no);
    log.appendChild(box);
  }
  if (waiting.length) toBottom();
}

async function submit(message, decision) {
  const id = newId(), mine = session, command = message.startsWith("/");
  if (log.querySelector(".empty")) log.replaceChildren();
  bubble("user", message);
  const div = bubble("assistant", "", { command });
  typing(div);
  toBottom();
  touchChat(message);
  busy += 1; setStatus(); log.setAttribute("aria-busy", "true");
  try {
    for (let attempt = 0; ; attempt++) {
      let res;
      try {
        res = await fetch(`${base}/send`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(decision ? { session: mine, text: message, id, decision } : { session: mine, text: message, id }),
        });
      } catch {
        if (attempt >= 20) throw new Error("unreachable");
        setStatus("offline");
        await sleep(Math.min(500 * (attempt + 1), 3000)); // Kith may be restarting: send again
        continue;
      }
      if (res.status === 409) { if (!(await pickUp(id, div, command, mine))) lost(div); return; }
      if (!res.ok) {
        let reason = res.statusText;
        try { reason = (await res.json()).error || reason; } catch { /* not JSON */ }
        div.className = "msg failed"; div.textContent = reason; return;
      }
      let reply = "";
      try { reply = await stream(res, div, command); } catch { reply = ""; }
      if (!reply && !(await pickUp(id, div, command, mine))) lost(div);
      return;
    }
  } catch {
    lost(div);
  } finally {
    busy -= 1; setStatus(); log.setAttribute("aria-busy", busy ? "true" : "false");
    poll(); // a reply that failed or came late may mean the model's state changed
    showProposals();
  }
}
function lost(div) {
  div.className = "msg failed";
  div.textContent = "I could not reach Kith. Your message may still be answered; it will show here.";
}

$("form").addEventListener("submit", (event) => {
  event.preventDefault();
  const message = text.value.trim();
  if (!message) return;
  text.value = "";
  grow();
  submit(message);
});
text.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("form").requestSubmit();
  }
});
function grow() { text.style.height = "auto"; text.style.height = `${Math.min(text.scrollHeight, 160)}px`; }
text.addEventListener("input", grow);

// -- the status line: which model answers, and whether it can --------------------------------
let health = { state: "unknown", detail: "" };
function setStatus(override) {
  let state = override || health.state, label;
  if (!override && busy && health.state !== "unreachable") state = "answering";
  switch (state) {
    case "answering": label = `${model} is answering…`; break;
    case "ready": label = `${model} · ready`; break;
    case "downloading": label = `${model} · ${health.detail}`; break;
    case "unreachable": // a local model that failed says what to do (GET /api/model's error)
      label = health.detail ? `${model} failed: ${health.detail} · messages are kept`
        : `${model} is unreachable · messages are kept`; break;
    case "offline": label = "Kith is unreachable · retrying"; break;
    default: label = model;
  }
  statusLine.dataset.state = state;
  statusLine.textContent = label;
}
function readHealth(body) {
  const llm = Object.values(body.llm || {});
  if (llm.length && !llm.some((v) => v === "ok")) return { state: "unreachable", detail: "" };
  return { state: body.store === false ? "unreachable" : "ready", detail: "" };
}
const LOCAL = { downloading: "downloading", verifying: "checking the download", loading: "loading" };
async function poll() {
  try {
    const local = await fetch("/api/model", { cache: "no-store" }); // a model on this machine
    const m = local.ok ? await local.json() : { state: "remote" };
    if (m.model && m.state !== "remote") model = m.model;
    if (LOCAL[m.state]) {
      const pct = m.state === "downloading" && m.percent != null ? ` ${Math.round(m.percent)}%` : "";
      health = { state: "downloading", detail: `${LOCAL[m.state]}${pct}` };
    } else if (m.state === "failed") {
      health = { state: "unreachable", detail: m.error || "" };
    } else {
      const res = await fetch("/readyz", { cache: "no-store" });
      health = readHealth(await res.json());
    }
  } catch {
    health = { state: "offline", detail: "" };
  }
  setStatus();
}

renderChats();
loadHistory();
poll();
setInterval(poll, 15000);
text.focus();
