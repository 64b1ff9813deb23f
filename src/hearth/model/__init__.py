"""The domain of the End-User API and its wire JSON."""

from hearth.model.datatype import DataType, coerce_value, infer_datatype
from hearth.model.device_url import DeviceURL, InvalidDeviceURL
from hearth.model.errors import ApiError, ErrorCode

__all__ = ["ApiError", "DataType", "DeviceURL", "ErrorCode", "InvalidDeviceURL", "coerce_value", "infer_datatype"]
