"""LLM SDKs not in the main corpus against loopback fake providers: groq, together, ollama, voyageai, replicate."""

from __future__ import annotations

import contextlib

from .common import Corpus, catch, free_port, silent_server, ver
from .servers import Resp, ScriptedServer

FAM = "llm-sdk"


@contextlib.contextmanager
def answering(resp: Resp):
    with ScriptedServer(fallback=lambda h: resp) as srv:
        yield srv


def oai(message, type_, code=None, param=None):
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


OAI_CASES = [
    (401, oai("Invalid API Key", "invalid_request_error", "invalid_api_key"), "AUTH_INVALID_API_KEY",
     "chat completion with a revoked key (401 invalid_api_key)", "Invalid API Key"),
    (404, oai("The model `llama-9-405b-instant` does not exist or you do not have access to it.",
              "invalid_request_error", "model_not_found"), "LLM_MODEL_NOT_FOUND",
     "chat completion naming a model that does not exist (404 model_not_found)", "does not exist"),
    (400, oai("Please reduce the length of the messages or completion.", "invalid_request_error",
              "context_length_exceeded", "messages"), "LLM_CONTEXT_LENGTH_EXCEEDED",
     "chat completion over the context window (400 context_length_exceeded)", "context_length"),
    (429, oai("Rate limit reached for model `llama-3.3-70b-versatile` in organization `org_01hx` service tier "
              "`on_demand` on tokens per minute (TPM): Limit 6000, Used 5812, Requested 944. Please try again in "
              "7.56s. Need more tokens? Upgrade to Dev Tier today at https://console.groq.com/settings/billing",
              "tokens", "rate_limit_exceeded"), "RATE_LIMIT_HTTP_429",
     "chat completion answered 429 rate_limit_exceeded (tokens per minute)", "Rate limit"),
    (500, oai("Internal Server Error", "internal_server_error"), "INFRA_INTERNAL_SERVER_ERROR",
     "chat completion answered 500", "500"),
    (503, oai("Service Unavailable", "internal_server_error"), "INFRA_SERVICE_UNAVAILABLE",
     "chat completion answered 503", "503"),
    (413, oai("Request Entity Too Large", "invalid_request_error", "request_too_large"), "VAL_PAYLOAD_TOO_LARGE",
     "chat completion with a 30 MB body answered 413", "413"),
]


def _groq(c: Corpus):
    import groq

    lib = ver("groq")

    def chat(url, key="gsk_test", timeout=3.0, model="llama-3.3-70b-versatile"):
        cl = groq.Groq(api_key=key, base_url=url, max_retries=0, timeout=timeout)
        return cl.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])

    for status, body, meaning, provoked, must in OAI_CASES:
        with answering(Resp(status, body)) as srv:
            e = catch(chat, srv.url)
            c.exc(e, lib, FAM, provoked + " (fake Groq API)", meaning, must=must)
    e = catch(chat, f"http://127.0.0.1:{free_port()}")
    c.exc(e, lib, FAM, "chat completion to a closed loopback port", "NET_CONNECTION_ERROR",
          accept=["NET_CONNECTION_REFUSED"], must="connection", style="name")
    with silent_server() as port:
        e = catch(chat, f"http://127.0.0.1:{port}", timeout=0.5)
        c.exc(e, lib, FAM, "chat completion to a port that never answers, timeout 0.5 s", "NET_TIMEOUT",
              must="timed out", style="qual")


def _together(c: Corpus):
    import together

    lib = ver("together")

    def chat(url, key="tgp_v1_test", model="meta-llama/Llama-3.3-70B-Instruct-Turbo"):
        cl = together.Together(api_key=key, base_url=url, max_retries=0, timeout=3)
        return cl.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])

    cases = [
        (401, {"id": "nxA1", "error": {"message": "Invalid API key provided. You can find your API key at "
                                                  "https://api.together.xyz/settings/api-keys.",
                                       "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}},
         "AUTH_INVALID_API_KEY", "chat completion with an invalid key", "Invalid API key"),
        (404, {"id": "nxA2", "error": {"message": "Unable to access model meta-llama/Llama-9-Instruct. Please visit "
                                                  "https://api.together.ai/models to view the list of supported models.",
                                       "type": "invalid_request_error", "param": None, "code": "model_not_available"}},
         "LLM_MODEL_NOT_FOUND", "chat completion naming an unknown model", "model"),
        (402, {"id": "nxA3", "error": {"message": "Credit limit exceeded. Please navigate to "
                                                  "https://api.together.xyz/settings/billing to add credit or upgrade "
                                                  "your plan.", "type": "credit_limit", "param": None,
                                       "code": None}},
         "RATE_LIMIT_QUOTA_EXCEEDED", "chat completion answered 402 credit limit exceeded", "Credit limit"),
        (503, {"id": "nxA4", "error": {"message": "The server is overloaded or not ready yet.",
                                       "type": "server_error", "param": None, "code": None}},
         "LLM_PROVIDER_OVERLOADED", "chat completion answered 503 server overloaded",
         "overloaded"),
        (400, {"id": "nxA5", "error": {"message": "Input validation error: `inputs` tokens + `max_new_tokens` must "
                                                  "be <= 131073. Given: 140211 `inputs` tokens and 2048 "
                                                  "`max_new_tokens`", "type": "invalid_request_error",
                                       "param": None, "code": None}},
         "LLM_CONTEXT_LENGTH_EXCEEDED", "chat completion over the context window", "tokens"),
        (422, {"id": "nxA6", "error": {"message": "temperature must be between 0 and 2",
                                       "type": "invalid_request_error", "param": "temperature", "code": None}},
         "VAL_UNPROCESSABLE_ENTITY", "chat completion with temperature 5 answered 422", "422"),
        (429, {"id": "nxA7", "error": {"message": "You are on tier Build Tier 1, which offers 600 queries per "
                                                  "minute. You have exceeded your rate limit.",
                                       "type": "model_rate_limit", "param": None, "code": None}},
         "RATE_LIMIT_HTTP_429", "chat completion answered 429", "rate limit"),
    ]
    for status, body, meaning, provoked, must in cases:
        with answering(Resp(status, body)) as srv:
            e = catch(chat, srv.url)
            c.exc(e, lib, FAM, provoked + " (fake Together API)", meaning, must=must)
    e = catch(chat, f"http://127.0.0.1:{free_port()}")
    c.exc(e, lib, FAM, "chat completion to a closed loopback port", "NET_CONNECTION_ERROR",
          accept=["NET_CONNECTION_REFUSED"], style="qual")


def _ollama(c: Corpus):
    import ollama

    lib = ver("ollama")

    def chat(url, model="llama3.2", timeout=3):
        cl = ollama.Client(host=url, timeout=timeout)
        return cl.chat(model=model, messages=[{"role": "user", "content": "hi"}])

    e = catch(chat, f"http://127.0.0.1:{free_port()}")
    c.exc(e, lib, FAM, "chat to a closed loopback port (Ollama not running)", "NET_CONNECTION_ERROR",
          accept=["NET_CONNECTION_REFUSED"], must="Failed to connect")
    with answering(Resp(404, {"error": "model \"llama9:70b\" not found, try pulling it first"})) as srv:
        e = catch(chat, srv.url, model="llama9:70b")
        c.exc(e, lib, FAM, "chat with a model that was never pulled (fake Ollama)", "LLM_MODEL_NOT_FOUND",
              must="not found")
    with answering(Resp(500, {"error": "model requires more system memory (38.1 GiB) than is available (22.4 GiB)"})) \
            as srv:
        e = catch(chat, srv.url, model="llama3.3:70b")
        c.exc(e, lib, FAM, "chat answered 500: model needs more memory than available (fake Ollama)",
              "RES_OUT_OF_MEMORY", accept=["INFRA_INTERNAL_SERVER_ERROR"], must="memory")
    with answering(Resp(400, {"error": "registry.ollama.ai/library/llama3.2:latest does not support tools"})) as srv:
        e = catch(chat, srv.url)
        c.exc(e, lib, FAM, "chat with tools for a model without tool support (fake Ollama)", "VAL_BAD_REQUEST",
              must="does not support")
    with silent_server() as port:
        e = catch(chat, f"http://127.0.0.1:{port}", timeout=0.5)
        c.exc(e, lib, FAM, "chat to a port that never answers, timeout 0.5 s", "NET_READ_TIMEOUT",
              bare="NET_TIMEOUT", must="timed out", style="qual")


def _voyage(c: Corpus):
    import voyageai

    lib = ver("voyageai")

    def embed(url, key="pa-test", model="voyage-3"):
        cl = voyageai.Client(api_key=key, base_url=url, max_retries=0, timeout=3)
        return cl.embed(["hello"], model=model)

    cases = [
        (401, {"detail": "Provided API key is invalid."}, "AUTH_INVALID_API_KEY", "embed with an invalid key",
         "invalid"),
        (400, {"detail": "Model voyage-9 is not supported. Supported models are ['voyage-3', 'voyage-3-lite', "
                         "'voyage-code-3', 'voyage-finance-2', 'voyage-law-2']."},
         "LLM_MODEL_NOT_FOUND", "embed with a model that does not exist", "not supported"),
        (429, {"detail": "You have not yet added your payment method in the billing page and will have reduced rate "
                         "limits of 3 RPM and 10K TPM. To unlock our standard rate limits, please add a payment "
                         "method in the billing page for the appropriate organization in the user dashboard."},
         "RATE_LIMIT_HTTP_429", "embed answered 429 reduced rate limits", "rate limits"),
        (500, {"detail": "Internal Server Error"}, "INFRA_INTERNAL_SERVER_ERROR", "embed answered 500",
         "failed to process"),
        (503, {"detail": "Service temporarily unavailable. Please try again later."}, "LLM_PROVIDER_OVERLOADED",
         "embed answered 503", "overloaded"),
    ]
    for status, body, meaning, provoked, must in cases:
        with answering(Resp(status, body)) as srv:
            e = catch(embed, srv.url, model="voyage-9" if status == 400 else "voyage-3")
            c.exc(e, lib, FAM, provoked + " (fake Voyage API)", meaning, must=must,
)
    e = catch(embed, f"http://127.0.0.1:{free_port()}")
    c.exc(e, lib, FAM, "embed to a closed loopback port", "NET_CONNECTION_REFUSED")


def _replicate(c: Corpus):
    import replicate

    lib = ver("replicate")

    def run(url, token="r8_test"):
        cl = replicate.Client(api_token=token, base_url=url, timeout=3)
        return cl.predictions.create(version="5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
                                     input={"prompt": "hi"})

    cases = [
        (401, {"title": "Unauthenticated", "detail": "You did not pass a valid authentication token", "status": 401},
         "AUTH_INVALID_API_KEY", "create a prediction with an invalid token", "authentication token",
         ["AUTH_UNAUTHORIZED"]),
        (422, {"title": "Invalid version or not permitted",
               "detail": "The specified version does not exist (or perhaps you don't have permission to use it?)",
               "status": 422}, "LLM_MODEL_NOT_FOUND", "create a prediction with a model version that does not exist",
         "version", ["VAL_UNPROCESSABLE_ENTITY"]),
        (402, {"title": "Insufficient credit", "detail": "You have insufficient credit to run this model. Go to "
                                                         "https://replicate.com/account/billing#billing to purchase "
                                                         "credit. Once you purchase credit, please wait a few minutes "
                                                         "before trying again.", "status": 402},
         "RATE_LIMIT_QUOTA_EXCEEDED", "create a prediction with no credit left", "credit", None),
        (429, {"title": "Request was throttled.", "detail": "Request was throttled. Your rate limit for creating "
                                                            "predictions resets in ~8s.", "status": 429},
         "RATE_LIMIT_HTTP_429", "create a prediction answered 429", "throttled", ["RATE_LIMIT_THROTTLED"]),
        (404, {"title": "Not found", "detail": "The requested resource could not be found.", "status": 404},
         "DATA_OBJECT_NOT_FOUND", "create a prediction answered 404", "not found", None),
    ]
    for status, body, meaning, provoked, must, acc in cases:
        with answering(Resp(status, body, ctype="application/problem+json")) as srv:
            e = catch(run, srv.url)
            c.exc(e, lib, FAM, provoked + " (fake Replicate API)", meaning, accept=acc, must=must)


def run(c: Corpus):
    for fn in (_groq, _together, _ollama, _voyage, _replicate):
        try:
            fn(c)
        except Exception:  # noqa: BLE001
            import traceback
            c.skipped.append(f"{fn.__name__} crashed: {traceback.format_exc()[-1500:]}")
