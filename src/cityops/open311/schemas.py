"""Open311 GeoReport v2 shapes, as the JSON answers carry them (the XML answers carry the same fields;
see ``cityops.open311.xml``). Field names are the spec's, not ours."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class EndpointOut(BaseModel):
    specification: str = Field(examples=["http://wiki.open311.org/GeoReport_v2"])
    url: str
    changeset: datetime = Field(description="when the services last changed")
    type: Literal["production", "test"]
    formats: list[str]


class DiscoveryOut(BaseModel):
    changeset: datetime
    contact: str
    key_service: str = Field(description="how a system gets an api_key")
    endpoints: list[EndpointOut]


class ServiceOut(BaseModel):
    service_code: str = Field(description="the category code", examples=["E0102"])
    service_name: str
    description: str
    metadata: bool = Field(description="always false: no fields beyond the standard ones")
    type: Literal["realtime"] = Field(description="the request id is returned at once")
    keywords: str = Field(description="comma-separated")
    group: str | None = Field(description="the parent category's name")


class ServiceDefinitionOut(BaseModel):
    service_code: str
    attributes: list[dict[str, Any]] = Field(description="always empty: no service needs more than the "
                                                         "standard fields")


class CreatedOut(BaseModel):
    service_request_id: str = Field(description="the case id")
    token: str = Field(description="the case's tracking code: it follows (and rates) the case without an "
                                   "account, so only its submitter gets it")
    service_notice: str | None
    account_id: str | None = Field(description="as submitted")


class TokenOut(BaseModel):
    service_request_id: str
    token: str


class ServiceRequestOut(BaseModel):
    """A case as the public may see it: never the reporter's name, phone or e-mail, nor staff names."""

    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None
    service_name: str | None
    service_code: str | None
    description: str
    agency_responsible: str | None = Field(description="the lead department, once dispatched")
    service_notice: str | None
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None = Field(description="the due time of the step the case is in")
    address: str | None
    address_id: str | None = Field(description="always null: the city keeps no address registry here")
    zipcode: str | None = Field(description="always null: the city keeps no postal codes here")
    lat: float | None
    long: float | None
    media_url: str | None


class ErrorOut(BaseModel):
    code: int = Field(description="the HTTP status")
    description: str
