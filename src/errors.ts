/** Base of the few domain errors; the HTTP error middleware maps them to responses. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InputError extends AppError {
  constructor(message: string, details?: unknown, code = "bad_request") {
    super(400, code, message, details);
  }
}

export class AuthenticationError extends AppError {
  constructor(message = "Missing or invalid credentials: send X-API-Key or Authorization: Bearer <token>", code = "unauthorized") {
    super(401, code, message);
  }
}

export class NotAllowedError extends AppError {
  constructor(message: string) {
    super(403, "forbidden", message);
  }
}

export class NotFoundError extends AppError {
  constructor(message: string) {
    super(404, "not_found", message);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details?: unknown) {
    super(409, "conflict", message, details);
  }
}

export class GoneError extends AppError {
  constructor(message: string) {
    super(410, "gone", message);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message: string) {
    super(413, "payload_too_large", message);
  }
}

export class UnprocessableError extends AppError {
  constructor(message: string, details?: unknown) {
    super(422, "unprocessable_entity", message, details);
  }
}

export class UnavailableError extends AppError {
  constructor(
    message: string,
    /** Sent as Retry-After when set. */
    readonly retryAfterSeconds?: number,
  ) {
    super(503, "service_unavailable", message);
  }
}
