// "What Kith knows about me". All text from the store is set as textContent, never as HTML.
"use strict";

const bot = document.body.dataset.bot;
const base = `/me/${bot}`;
const $ = (id) => document.getElementById(id);
const CHANNELS = { web: "web chat", local: "this computer", telegram: "Telegram", matrix: "Matrix", email: "email", whatsapp: "WhatsApp", whatsapp_cloud: "WhatsApp", tel: "WhatsApp", terminal: "terminal" };
const SCOPES = {
  private: ["private", "Only you, in direct chats"],
  shared: ["shared", "You, and groups you are in"],
  group: ["group", "Only the group it was said in"],
};

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") node.textContent = v;
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else node.setAttribute(k, v);
  }
  node.append(...children.filter(Boolean));
  return node;
}
const when = (iso) => new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
function toast(message) {
  const t = $("toast");
  t.textContent = message;
  t.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("show"), 2500);
}

async function post(path, body = {}) {
  const res = await fetch(base + path, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}
async function act(path, body, done) {
  try { await post(path, body); toast(done); } catch (err) { toast(`Not done: ${err.message}`); }
  await load();
}

function memoryItem(m) {
  const [scopeName, scopeHelp] = SCOPES[m.scope] || [m.scope, ""];
  const channel = CHANNELS[m.source.channel] || m.source.channel;
  const meta = el("div", { class: "meta" },
    el("span", { class: "badge" , text: m.pref_key ? `${m.kind}: ${m.pref_key}` : m.kind }),
    el("span", { class: `badge ${m.scope}`, title: scopeHelp, text: scopeName }),
    el("span", { text: `from ${channel} · ${when(m.source.at)}` }),
    m.expires_at ? el("span", { text: `· until ${when(m.expires_at)}` }) : null);
  const said = m.source.said
    ? el("div", { class: "said", text: `You said: “${m.source.said}”` })
    : el("div", { class: "said", text: `From message ${m.source.message}` });
  const item = el("li", { "data-memory": m.id });
  const what = el("div", { class: "what", text: m.text });
  const actions = el("div", { class: "actions" },
    el("button", { class: "btn", type: "button", "aria-label": `Edit: ${m.text}`, text: "Edit", on: { click: () => editing(item, what, m) } }),
    m.scope !== "private" ? el("button", {
      class: "btn", type: "button", "aria-label": `Make private: ${m.text}`, text: "Make private",
      on: { click: () => act(`/memories/${m.id}/private`, {}, "Now only you can see it.") },
    }) : null,
    el("button", {
      class: "btn danger", type: "button", "aria-label": `Forget: ${m.text}`, text: "Forget",
      on: { click: () => act(`/memories/${m.id}/forget`, {}, "Forgotten.") },
    }));
  item.append(what, actions, meta, said);
  return item;
}

function editing(item, what, m) {
  if (item.querySelector(".edit")) return;
  const input = el("input", { type: "text", value: m.text, maxlength: "500", "aria-label": "Memory text" });
  const cancel = () => box.remove();
  const save = () => act(`/memories/${m.id}/edit`, { text: input.value }, "Saved.");
  const box = el("form", { class: "edit", on: { submit: (e) => { e.preventDefault(); save(); } } },
    input, el("button", { class: "btn primary", type: "submit", text: "Save" }),
    el("button", { class: "btn", type: "button", text: "Cancel", on: { click: cancel } }));
  input.addEventListener("keydown", (e) => { if (e.key === "Escape") cancel(); });
  item.append(box);
  input.focus();
  input.select();
}

function list(id, items, render, empty) {
  const ul = $(id);
  ul.replaceChildren(...(items.length ? items.map(render) : [el("li", {}, el("p", { class: "none", text: empty }))]));
}

async function load() {
  let k;
  try {
    const res = await fetch(`${base}/knowledge`, { cache: "no-store" });
    if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error || res.statusText);
    k = await res.json();
  } catch (err) {
    $("memories").replaceChildren(el("li", {}, el("p", { class: "none", text: `Could not load: ${err.message}` })));
    return;
  }
  const facts = k.memories.filter((m) => m.kind === "fact");
  const learned = k.memories.filter((m) => m.kind !== "fact");
  $("n-memories").textContent = `(${facts.length})`;
  $("n-learned").textContent = `(${learned.length})`;
  list("memories", facts, memoryItem, "Nothing yet. What you tell Kith about yourself appears here.");
  list("learned", learned, memoryItem, "Nothing learned yet.");
  list("prefs", k.preferences, (p) => el("li", {},
    el("div", { class: "what", text: `${p.key}: ${p.value}` }),
    el("div", { class: "actions" }, el("button", {
      class: "btn", type: "button", text: "Clear", "aria-label": `Clear ${p.key}`,
      on: { click: () => act(`/preferences/${p.key}/clear`, {}, `Cleared ${p.key}.`) },
    })),
    el("div", { class: "meta", text: p.about })), "None. Set one in the chat, e.g. /prefs name Ana.");
  list("identities", k.identities, (i) => el("li", {},
    el("div", { class: "what", text: i.display_name || i.platform_id }),
    el("div", { class: "actions" }, i.this ? el("span", { class: "badge private", text: "this chat" }) : el("button", {
      class: "btn", type: "button", text: "Unlink", "aria-label": `Unlink ${i.channel} ${i.platform_id}`,
      on: { click: () => act("/identities/unlink", { channel: i.channel, platform_id: i.platform_id }, "Unlinked.") },
    })),
    el("div", { class: "meta", text: `${CHANNELS[i.channel] || i.channel} · ${i.platform_id}` })), "No accounts yet.");
  $("n-reminders").textContent = `(${k.reminders.length})`;
  list("reminders", k.reminders, (r) => el("li", {},
    el("div", { class: "what", text: r.kind === "briefing" ? "Daily briefing" : r.text }),
    el("div", { class: "actions" }, el("button", {
      class: "btn danger", type: "button", text: "Cancel", "aria-label": `Cancel: ${r.text || r.kind}`,
      on: { click: () => act(`/reminders/${r.id}/cancel`, {}, "Cancelled.") },
    })),
    el("div", { class: "meta", text: `next ${r.when}${r.repeat ? ` · ${r.repeat}` : ""}` })),
    "None. Ask in the chat, e.g. “remind me tomorrow at 9 to call Ana”.");
  const lists = {};
  for (const i of k.lists) (lists[i.list] = lists[i.list] || []).push(i.item);
  $("n-lists").textContent = `(${Object.keys(lists).length})`;
  list("lists", Object.entries(lists), ([name, items]) => el("li", {},
    el("div", { class: "what", text: name }),
    el("div", { class: "meta", text: items.join(" · ") })),
    "None. Ask in the chat, e.g. “add oat milk to the shopping list”.");
  $("learning").checked = k.learning;
}

$("learning").addEventListener("change", (e) => {
  const on = e.target.checked;
  act("/learning", { on }, on ? "Learning is on." : "Learning is paused. What Kith knows stays.");
});
$("forget-all").addEventListener("click", () => $("confirm").showModal());
$("confirm").addEventListener("close", () => {
  if ($("confirm").returnValue === "confirm") act("/forget-everything", { confirm: "forget everything" }, "Everything is forgotten.");
});
load();
