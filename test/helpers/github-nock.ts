import nock from "nock";

export const GITHUB_API = "https://api.github.com";

/** The installation token endpoint, answering `times` times (Probot should need it once per installation). */
export function nockInstallationToken(installationId: number, token = `ghs_test_${installationId}`, times = 1): nock.Scope {
  return nock(GITHUB_API)
    .post(`/app/installations/${installationId}/access_tokens`)
    .matchHeader("authorization", /^bearer [\w-]+\.[\w-]+\.[\w-]+$/i)
    .times(times)
    .reply(201, { token, expires_at: new Date(Date.now() + 3600_000).toISOString(), permissions: { issues: "write" }, repository_selection: "all" });
}

/** GitHub's repository → installation lookup, authenticated as the App (JWT). */
export function nockRepositoryInstallation(repository: string, installationId: number | null): nock.Scope {
  const scope = nock(GITHUB_API).get(`/repos/${repository}/installation`).matchHeader("authorization", /^bearer [\w-]+\.[\w-]+\.[\w-]+$/i);
  return installationId === null
    ? scope.reply(404, { message: "Not Found" })
    : scope.reply(200, { id: installationId, account: { login: repository.split("/")[0], type: "Organization" }, repository_selection: "selected" });
}
