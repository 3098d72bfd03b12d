// Typed-client proof: a partner program written against types generated from the gateway's /openapi.json.
// `npm run types` writes client/generated/api.d.ts; `npm run check` compiles this file with tsc.
import type { paths } from "./generated/api.js";

type Dashboard = paths["/app/v1/dashboard"]["get"]["responses"]["200"]["content"]["application/json"];
type NewAction = paths["/api/v1/actions"]["post"]["requestBody"]["content"]["application/json"];
type Action = paths["/api/v1/actions"]["post"]["responses"]["201"]["content"]["application/json"];

export class K12Perform {
  constructor(private readonly baseUrl: string, private readonly token: string) {}

  private async call<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await fetch(this.baseUrl + path, {
      ...init,
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json", ...(init.headers ?? {}) },
    });
    if (!response.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  dashboard(): Promise<Dashboard> {
    return this.call<Dashboard>("/app/v1/dashboard");
  }

  createAction(action: NewAction, idempotencyKey: string): Promise<Action> {
    return this.call<Action>("/api/v1/actions", { method: "POST", body: JSON.stringify(action), headers: { "idempotency-key": idempotencyKey } });
  }
}

export function summarize(dashboard: Dashboard): string {
  const score = dashboard.score;
  const headline = score ? `${score.percent_of_possible ?? "?"}% (${score.classification ?? "unclassified"}, trend ${score.trend.direction})` : "no score";
  const overdue = dashboard.overdue_actions?.length ?? 0;
  const missing = dashboard.missing.map((m) => m.part).join(", ") || "none";
  return `${dashboard.district?.["name"] ?? "district"}: ${headline}; ${overdue} overdue actions; missing parts: ${missing}`;
}

async function main(): Promise<void> {
  const [baseUrl, token, owner] = [process.env.K12_URL, process.env.K12_TOKEN, process.env.K12_OWNER];
  if (!baseUrl || !token || !owner) throw new Error("set K12_URL, K12_TOKEN and K12_OWNER");
  const api = new K12Perform(baseUrl, token);
  const dashboard = await api.dashboard();
  console.log(summarize(dashboard));
  const due = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
  const created: Action = await api.createAction({ title: "Call the families of chronically absent 9th graders", owner, due_date: due }, crypto.randomUUID());
  const overdue: boolean = created.overdue;
  console.log(JSON.stringify({ created: created.id, status: created.status, overdue }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
