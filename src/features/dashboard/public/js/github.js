// The GitHub App panel: register the App (manifest flow) and install it; once configured, its installations.
import { api, optionalList } from "./api.js";
import { $, h, safeUrl, timeAgo } from "./dom.js";

/** The Connect GitHub panel: register the App (manifest flow) and install it; once configured, its installations. */
export async function loadGithub() {
  const panel = $("github");
  let app;
  try {
    app = (await api("/github/app")).body;
  } catch (error) {
    panel.replaceChildren(h("p", { class: "muted" }, error.status === 404 ? "GitHub App setup is not available on this server." : `Could not load: ${error.message}`));
    return;
  }
  if (!app.configured) {
    const owner = h("input", { id: "github-owner", type: "text", placeholder: "optional", autocomplete: "off", spellcheck: "false" });
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    panel.replaceChildren(
      h("h3", {}, "Connect GitHub"),
      h("p", { class: "muted small" }, "Register Entourage's GitHub App in one click, then install it on your repositories: their issues and pull requests become tasks."),
      h("label", { for: "github-owner" }, "GitHub organization that owns the App"),
      owner,
      error,
      h("button", { type: "button", class: "button primary", onclick: () => registerGithubApp(owner.value.trim(), error) }, "Register GitHub App"),
    );
    return;
  }
  const [installations, teams] = await Promise.all([optionalList("/github/installations"), optionalList("/teams")]);
  const appUrl = safeUrl(app.app?.html_url);
  const name = app.app?.name ?? `App ${app.app?.id ?? ""}`;
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  panel.replaceChildren(
    h("p", {}, appUrl ? h("a", { href: appUrl, target: "_blank", rel: "noopener" }, name) : name, h("span", { class: "muted small" }, ` · ${app.source === "env" ? "from the environment" : "registered here"}`)),
    h("p", { class: "muted small", id: "github-last-delivery" }, `Last App delivery: ${timeAgo(app.last_delivery_at)}`),
    error,
    h("button", { type: "button", class: "button primary", onclick: () => installGithubApp(error) }, "Install on repositories"),
    installations.items.length
      ? h("ul", { class: "installations", id: "github-installations" }, ...installations.items.map((inst) => installationItem(inst, teams.items, error)))
      : h("p", { class: "muted small" }, "No installation linked to your org yet."),
  );
}

function installationItem(inst, teams, error) {
  const select = h(
    "select",
    { "aria-label": `Team for ${inst.account_login}`, onchange: (event) => moveInstallation(inst.id, event.target.value, error) },
    ...teams.map((team) => h("option", { value: team.id, selected: team.id === inst.team_id }, team.name)),
  );
  const repositories = inst.repositories.map((repo) => repo.full_name).join(", ") || (inst.repository_selection === "all" ? "all repositories" : "no repository seen yet");
  return h(
    "li",
    { class: "installation", dataset: { installationId: String(inst.id) } },
    h("strong", {}, inst.account_login),
    inst.suspended ? h("span", { class: "badge" }, "suspended") : null,
    h("div", { class: "muted small" }, repositories),
    h("label", {}, "Team ", select),
  );
}

async function registerGithubApp(owner, error) {
  error.hidden = true;
  try {
    const { body } = await api("/github/app/manifest", { method: "POST", body: owner ? { owner } : {} });
    // GitHub's manifest flow: the browser posts the manifest to GitHub, which comes back to the setup callback.
    const form = h("form", { method: "post", action: body.url }, h("input", { type: "hidden", name: "manifest", value: JSON.stringify(body.manifest) }));
    document.body.append(form);
    form.submit();
  } catch (caught) {
    error.textContent = caught.status === 403 ? "Only the instance org can register the GitHub App." : caught.message;
    error.hidden = false;
  }
}

async function installGithubApp(error) {
  try {
    location.assign((await api("/github/app/install", { method: "POST" })).body.url);
  } catch (caught) {
    error.textContent = caught.message;
    error.hidden = false;
  }
}

async function moveInstallation(id, teamId, error) {
  try {
    await api(`/github/installations/${id}`, { method: "PATCH", body: { team_id: teamId } });
  } catch (caught) {
    error.textContent = caught.message;
    error.hidden = false;
  }
}
