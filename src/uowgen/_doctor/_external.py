"""Calls that leave the process through an SDK, not a raw HTTP client (UOW003).

An SDK call does HTTP all the same: inside a transaction it holds the connection
for as long as the remote API takes. Three shapes are known:

- functions of a library (`litellm.acompletion`, `stripe.Customer.create`);
- clients, each of whose methods calls the API (`openai.AsyncOpenAI()`,
  `boto3.client("s3")`, `slack_sdk.WebClient()`), however deep the attribute
  chain (`client.chat.completions.create`);
- method names that mean a remote call on any object (LangChain's `.ainvoke`).

`[tool.uowgen.doctor] external-calls` adds to them: `"pkg.module.func"` (a library
function or one of the codebase, by its dotted name; `*` matches any part),
`"Class.method"` (a method of a class of the codebase or of a library, by the
class's name; `"Class.*"` for all its methods), or `".method"` for a method name on
any object.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

DEFAULT_FUNCTIONS: tuple[str, ...] = (
    # LLM clients
    *(
        f"litellm.{prefix}{name}"
        for prefix in ("", "a")
        for name in (
            "completion",
            "text_completion",
            "embedding",
            "image_generation",
            "transcription",
            "speech",
            "moderation",
            "responses",
            "rerank",
        )
    ),
    "openai.[A-Z]*.[a-z]*",  # openai<1: openai.ChatCompletion.create
    *(
        f"openai.{resource}.*"
        for resource in (
            "chat",
            "completions",
            "embeddings",
            "images",
            "audio",
            "files",
            "moderations",
            "responses",
        )
    ),
    # payments and chat
    "stripe.[A-Z]*.[a-z]*",  # stripe.Customer.create, stripe.PaymentIntent.retrieve
    "sendgrid.*.send",
    # cloud
    "googleapiclient.http.*.execute",
    "requests_oauthlib.*.fetch_token",
)
DEFAULT_CLIENTS: tuple[str, ...] = (
    "openai.OpenAI",
    "openai.AsyncOpenAI",
    "openai.AzureOpenAI",
    "openai.AsyncAzureOpenAI",
    "anthropic.Anthropic",
    "anthropic.AsyncAnthropic",
    "anthropic.*Bedrock",
    "anthropic.*Vertex",
    "stripe.StripeClient",
    "slack_sdk.WebClient",
    "slack_sdk.web.*WebClient",
    "slack_sdk.web.async_client.AsyncWebClient",
    "slack_sdk.*WebhookClient",
    "slack_sdk.webhook.*WebhookClient",
    "slack.WebClient",
    "boto3.client",
    "boto3.resource",
    "boto3.Session",
    "boto3.session.Session",
    "aioboto3.Session",
    "aiobotocore.session.get_session",
    "google.cloud.*Client",
    "google.genai.Client",
    "google.generativeai.GenerativeModel",
    "googleapiclient.discovery.build",
    "twilio.rest.Client",
    "sendgrid.SendGridAPIClient",
    "mistralai.Mistral",
    "groq.Groq",
    "groq.AsyncGroq",
    "cohere.Client",
    "cohere.AsyncClient",
)
DEFAULT_METHODS: frozenset[str] = frozenset(
    {"ainvoke", "astream", "abatch", "astream_events", "apredict", "agenerate"}
)
# Methods of an SDK client that make another client or close one: no remote call.
LOCAL_METHODS: frozenset[str] = frozenset(
    {
        "client",
        "resource",
        "close",
        "aclose",
        "with_options",
        "with_raw_response",
        "with_streaming_response",
        "copy",
        "bucket",
        "blob",
        "collection",
        "document",
        "Table",
        "Bucket",
        "Object",
        "get_paginator",
        "get_waiter",
        "meta",
    }
)
_ROOTS_RE = re.compile(r"^[A-Za-z_]\w*")


@dataclass(frozen=True)
class ExternalCalls:
    """What counts as a call out of the process besides raw HTTP clients."""

    functions: tuple[str, ...] = DEFAULT_FUNCTIONS
    clients: tuple[str, ...] = DEFAULT_CLIENTS
    methods: frozenset[str] = DEFAULT_METHODS
    # Class name -> its external methods ("*": all).
    class_methods: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def with_config(cls, entries: Iterable[str]) -> ExternalCalls:
        """The defaults plus `external-calls` entries."""
        functions = list(DEFAULT_FUNCTIONS)
        methods = set(DEFAULT_METHODS)
        class_methods: dict[str, set[str]] = {}
        for entry in entries:
            if entry.startswith("."):
                methods.add(entry[1:])
                continue
            head, _, method = entry.rpartition(".")
            if head and "." not in head and head[:1].isupper():
                class_methods.setdefault(head, set()).add(method)
            else:
                functions.append(entry)
        return cls(
            functions=tuple(functions),
            methods=frozenset(methods),
            class_methods={k: frozenset(v) for k, v in class_methods.items()},
        )

    @property
    def roots(self) -> frozenset[str]:
        """The top-level packages the patterns name.

        A module that imports none of them holds no SDK client (but for one passed
        in from elsewhere, which is rare).
        """
        found: set[str] = set()
        for pattern in (*self.functions, *self.clients):
            match = _ROOTS_RE.match(pattern)
            if match:
                found.add(match.group(0))
        return frozenset(found)

    def is_function(self, qualname: str) -> bool:
        """Whether calling this dotted name is an external call."""
        return _matches(self.functions, qualname)

    def is_client(self, qualname: str) -> bool:
        """Whether what this library name makes (or annotates) is an SDK client."""
        if qualname.rpartition(".")[2] in self.class_methods:
            return True
        return _matches(self.clients, qualname)

    def client_method(self, qualname: str, method: str) -> bool:
        """Whether `method` of the client made by `qualname` calls out."""
        configured = self.class_methods.get(qualname.rpartition(".")[2])
        if configured is not None:
            return "*" in configured or method in configured
        return method not in LOCAL_METHODS and not method.startswith("_")

    def is_method_of(self, class_name: str, method: str) -> bool:
        """Whether a codebase class's method is configured as external."""
        configured = self.class_methods.get(class_name)
        return configured is not None and ("*" in configured or method in configured)


@functools.lru_cache(maxsize=64)
def _pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regular expression for `fnmatchcase` against any of `patterns`."""
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


@functools.lru_cache(maxsize=65536)
def _matches(patterns: tuple[str, ...], qualname: str) -> bool:
    # Asked for the same few thousand names millions of times on a large codebase.
    return _pattern(patterns).match(qualname) is not None
