// One way to call Parley's HTTP APIs from the console: JSON in and out, the shared error shape
// turned into an `ApiError` carrying its stable code (errors.ts says it in words).

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Call {
  body?: unknown;
  token?: string | null;
  headers?: Record<string, string>;
}

/** Where each function is mounted, as nginx and local-dev route them. */
export const BASE = {
  tenant: "/api/tenant",
  chatbots: "/api/chatbots",
  analytics: "/api/analytics",
} as const;

export async function call<T>(method: string, url: string, options: Call = {}): Promise<T> {
  const response = await send(method, url, options);
  if (response.status === 204) return undefined as T;
  return (await response.json().catch(() => null)) as T;
}

/** A file the API answers (a CSV report, say), as a Blob to save; errors as for `call`. */
export async function callBlob(url: string, options: Call = {}): Promise<Blob> {
  return (await send("GET", url, options)).blob();
}

async function send(method: string, url: string, options: Call): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  } catch {
    throw new ApiError(0, "network_error", "Parley could not be reached");
  }
  if (response.ok) return response;
  const data = await response.json().catch(() => null);
  const code = data && typeof data.code === "string" ? data.code : "http_error";
  throw new ApiError(response.status, code, data?.message ?? `HTTP ${response.status}`);
}
