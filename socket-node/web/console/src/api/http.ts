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
  if (response.status === 204) return undefined as T;
  const data = await response.json().catch(() => null);
  if (response.ok) return data as T;
  const code = data && typeof data.code === "string" ? data.code : "http_error";
  throw new ApiError(response.status, code, data?.message ?? `HTTP ${response.status}`);
}
