"""How the API shows each category's records: as a stored record (record lists) and as a lookup match (with
``prefix_len`` and, for lb/f5, ``matched_on``). Their field names are the categories' public fields."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class MemberOut(BaseModel):
    ip: str = Field(examples=["10.73.251.75"])
    port: int | None = Field(default=None, examples=[80])


class AclRecordOut(BaseModel):
    id: int
    source: str = Field(examples=["configs/core-fw1.cfg"])
    line: int | None = Field(examples=[120])
    name: str | None = Field(examples=["OUTSIDE_IN"])
    kind: str | None = Field(examples=["acl"])
    action: Literal["permit", "deny"] | None
    direction: Literal["in", "out"] | None
    protocol: str | None = Field(examples=["tcp"])
    cidr: str = Field(examples=["10.1.0.0/16"])
    port: str | None = Field(examples=["443", "8000-8080"])
    description: str | None


class SgRecordOut(BaseModel):
    id: int
    source: str = Field(examples=["aws-prod-eu-west-1"])
    group_id: str | None = Field(examples=["sg-0123456789abcdef0"])
    group_name: str | None
    vpc_id: str | None
    account: str | None
    region: str | None
    direction: Literal["ingress", "egress"] | None
    protocol: str | None = Field(examples=["tcp", "all", "6"])
    from_port: int | None
    to_port: int | None
    cidr: str = Field(examples=["10.0.0.0/8"])
    description: str | None


class LbRecordOut(BaseModel):
    id: int
    source: str
    name: str | None
    type: str | None = Field(examples=["alb", "nlb", "haproxy"])
    vip: str | None = Field(examples=["10.20.0.10"])
    port: int | None
    protocol: str | None
    members: list[MemberOut]
    description: str | None


class F5RecordOut(BaseModel):
    id: int
    source: str
    partition: str | None = Field(examples=["Common"])
    name: str | None = Field(examples=["vs_app_443"])
    destination: str | None
    port: int | None
    protocol: str | None
    route_domain: int | None
    pool: str | None
    members: list[MemberOut]
    description: str | None
    snat: str | None = Field(examples=["automap"])


class AclMatch(AclRecordOut):
    prefix_len: int = Field(description="Prefix length of the record's network (longest first).")


class SgMatch(SgRecordOut):
    prefix_len: int = Field(description="Prefix length of the record's network (longest first).")


class LbMatch(LbRecordOut):
    prefix_len: int = Field(description="32 for IPv4, 128 for IPv6: load balancers match on addresses.")
    matched_on: Literal["vip", "member"]


class F5Match(F5RecordOut):
    prefix_len: int = Field(description="32 for IPv4, 128 for IPv6: F5 objects match on addresses.")
    matched_on: Literal["destination", "member"]
