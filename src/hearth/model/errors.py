"""Errors in the End-User API's own format: ``{"errorCode": ..., "error": ...}``."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # The codes that clients of the End-User API (pyoverkiz among them) map to exceptions.
    RESOURCE_ACCESS_DENIED = "RESOURCE_ACCESS_DENIED"
    UNSPECIFIED_ERROR = "UNSPECIFIED_ERROR"
    NO_SUCH_DEVICE = "NO_SUCH_DEVICE"
    UNSUPPORTED_OPERATION = "UNSUPPORTED_OPERATION"
    INVALID_FIELD_VALUE = "INVALID_FIELD_VALUE"
    NO_SUCH_RESOURCE = "NO_SUCH_RESOURCE"
    UNKNOWN_OBJECT = "UNKNOWN_OBJECT"
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


class ApiError(Exception):
    """A refusal that reaches the client as ``{"errorCode", "error"}`` with an HTTP status."""

    def __init__(self, status: int, code: ErrorCode | str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_json(self) -> dict[str, str]:
        return {"errorCode": str(self.code), "error": self.message}

    @classmethod
    def bad_request(cls, message: str, code: ErrorCode | str = ErrorCode.UNSPECIFIED_ERROR) -> ApiError:
        return cls(400, code, message)

    @classmethod
    def not_found(cls, message: str, code: ErrorCode = ErrorCode.UNKNOWN_OBJECT) -> ApiError:
        return cls(404, code, message)

    @classmethod
    def no_such_device(cls, device_url: str) -> ApiError:
        return cls(400, ErrorCode.NO_SUCH_DEVICE, f'No such device : "{device_url}"')

    @classmethod
    def unsupported(cls, message: str) -> ApiError:
        return cls(400, ErrorCode.UNSUPPORTED_OPERATION, message)
