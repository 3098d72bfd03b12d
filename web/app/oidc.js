// Sign-in at the district's identity provider: OpenID Connect authorization code flow with PKCE (RFC 7636).
// The browser is a public client, so no secret: the code verifier proves the code came back to who asked for it,
// the state that the answer belongs to this sign-in, and the nonce that the ID token was made for it.
const PENDING_KEY = "k12perform.oidc";

const randomText = (bytes) => base64url(crypto.getRandomValues(new Uint8Array(bytes)));
const base64url = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const redirectUri = () => `${location.origin}/`;

export async function startSignIn(provider) {
  const pending = { verifier: randomText(48), state: randomText(24), nonce: randomText(24), token_endpoint: provider.token_endpoint, client_id: provider.client_id };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(pending.verifier)));
  const url = new URL(provider.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code", client_id: provider.client_id, redirect_uri: redirectUri(), scope: provider.scope,
    state: pending.state, nonce: pending.nonce, code_challenge: challenge, code_challenge_method: "S256",
  });
  location.assign(url);
}

// Back from the provider with ?code=&state=: the ID token for the code, then a platform token for the ID token.
export async function finishSignIn(exchange) {
  const params = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
  sessionStorage.removeItem(PENDING_KEY);
  history.replaceState(null, "", location.pathname + "#/dashboard");
  if (params.get("error")) throw new Error(`The identity provider refused the sign-in: ${params.get("error_description") || params.get("error")}`);
  if (!pending || params.get("state") !== pending.state) throw new Error("This sign-in was not started here; please sign in again");
  const response = await fetch(pending.token_endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code: params.get("code"), redirect_uri: redirectUri(), client_id: pending.client_id, code_verifier: pending.verifier }),
  });
  const tokens = await response.json();
  if (!response.ok || !tokens.id_token) throw new Error(`The identity provider gave no ID token (${tokens.error || response.status})`);
  return exchange({ id_token: tokens.id_token, nonce: pending.nonce });
}

export const returningFromProvider = () => {
  const params = new URLSearchParams(location.search);
  return params.has("state") && (params.has("code") || params.has("error"));
};
