"""LLM SDKs (openai, anthropic, cohere, mistralai, google-genai, huggingface_hub) against a loopback server
that answers with each provider's error bodies."""

from __future__ import annotations

import json
import re

from .common import Corpus, free_port, ver
from .http_clients import catch
from .servers import Resp, ScriptedServer

FAM = "llm-sdk"


def _oai(status, message, typ, code, param=None):
    return Resp(status, {"error": {"message": message, "type": typ, "param": param, "code": code}},
                headers={"x-request-id": "req_7f3c2a9d1b"})


def _ant(status, typ, message):
    return Resp(status, {"type": "error", "error": {"type": typ, "message": message},
                         "request_id": "req_011CQ4pZ7x1n2m3b4v5c6x7z"}, headers={"request-id": "req_011CQ4pZ7x1n2m3b4v5c6x7z"})


def _goog(status, state, message):
    return Resp(status, {"error": {"code": status, "message": message, "status": state}})


def _chat_ok(content, finish):
    return Resp(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 1714550400, "model": "gpt-4o",
                      "choices": [{"index": 0, "message": {"role": "assistant", "content": content,
                                                            "refusal": None},
                                   "finish_reason": finish, "logprobs": None}],
                      "usage": {"prompt_tokens": 12, "completion_tokens": 16, "total_tokens": 28}})


HTML_502 = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
            "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
HTML_504 = HTML_502.replace("502 Bad Gateway", "504 Gateway Time-out")

# model name -> (answer, meaning, what was provoked)
OPENAI = {
    "gpt-4o-badkey": (_oai(401, "Incorrect API key provided: sk-proj-****************************3xQa. You can find "
                               "your API key at https://platform.openai.com/account/api-keys.",
                           "invalid_request_error", "invalid_api_key"), "AUTH_INVALID_API_KEY", "401 invalid_api_key"),
    "gpt-4o-noaccess": (_oai(403, "Project `proj_Zq3x` does not have access to model `gpt-4o-noaccess`",
                             "invalid_request_error", "model_not_found"), "LLM_MODEL_NOT_FOUND",
                        "403 project without access to the model"),
    "gpt-9-turbo": (_oai(404, "The model `gpt-9-turbo` does not exist or you do not have access to it.",
                         "invalid_request_error", "model_not_found"), "LLM_MODEL_NOT_FOUND", "404 model_not_found"),
    "gpt-4o-ctx": (_oai(400, "This model's maximum context length is 128000 tokens. However, your messages resulted "
                             "in 131072 tokens. Please reduce the length of the messages.", "invalid_request_error",
                        "context_length_exceeded", "messages"), "LLM_CONTEXT_LENGTH_EXCEEDED",
                   "400 context_length_exceeded"),
    "gpt-4o-badparam": (_oai(400, "Invalid value for 'temperature': expected a number less than or equal to 2, but "
                                  "got 3.5 instead.", "invalid_request_error", "invalid_value", "temperature"),
                        "VAL_BAD_REQUEST", "400 invalid parameter value"),
    "gpt-4o-filter": (Resp(400, {"error": {"message": "The response was filtered due to the prompt triggering Azure "
                                                      "OpenAI's content management policy. Please modify your prompt "
                                                      "and retry.", "type": None, "param": "prompt",
                                           "code": "content_filter", "status": 400,
                                           "innererror": {"code": "ResponsibleAIPolicyViolation",
                                                          "content_filter_result": {
                                                              "violence": {"filtered": True, "severity": "high"}}}}}),
                      "LLM_CONTENT_FILTER", "400 content_filter (Azure OpenAI body)"),
    "gpt-4o-toolarge": (_oai(413, "Maximum content size limit (26214400) exceeded (26851234 bytes read)",
                             "server_error", None), "VAL_PAYLOAD_TOO_LARGE", "413 content size limit exceeded"),
    "served-llama-3": (Resp(422, {"detail": [{"type": "missing", "loc": ["body", "messages"], "msg": "Field required",
                                              "input": {"model": "served-llama-3"}}]}), "VAL_UNPROCESSABLE_ENTITY",
                       "422 from an OpenAI-compatible server (FastAPI validation body)"),
    "gpt-4o-rl": (_oai(429, "Rate limit reached for gpt-4o in organization org-R2d2 on tokens per min (TPM): Limit "
                            "30000, Used 29544, Requested 1208. Please try again in 1.504s. Visit "
                            "https://platform.openai.com/account/rate-limits to learn more.", "tokens",
                       "rate_limit_exceeded"), "RATE_LIMIT_HTTP_429", "429 rate_limit_exceeded"),
    "gpt-4o-quota": (_oai(429, "You exceeded your current quota, please check your plan and billing details. For "
                               "more information on this error, read the docs: "
                               "https://platform.openai.com/docs/guides/error-codes/api-errors.", "insufficient_quota",
                          "insufficient_quota"), "RATE_LIMIT_QUOTA_EXCEEDED", "429 insufficient_quota"),
    "gpt-4o-500": (_oai(500, "The server had an error while processing your request. Sorry about that!",
                        "server_error", None), "INFRA_INTERNAL_SERVER_ERROR", "500 server_error"),
    "gpt-4o-502": (Resp(502, HTML_502, ctype="text/html"), "INFRA_BAD_GATEWAY", "502 HTML page from a proxy"),
    "gpt-4o-503": (_oai(503, "The engine is currently overloaded, please try again later.", "server_error", None),
                   "LLM_PROVIDER_OVERLOADED", "503 engine overloaded"),
    "gpt-4o-504": (Resp(504, HTML_504, ctype="text/html"), "INFRA_GATEWAY_TIMEOUT", "504 HTML page from a proxy"),
    "gpt-4o-slow": (_chat_ok("late", "stop"), "NET_TIMEOUT", "server answers after 3 s, timeout 0.5 s"),
    "gpt-4o-length": (_chat_ok('{"summary": "The run failed because the', "length"), "LLM_OUTPUT_TRUNCATED",
                      "parse() of a completion that stopped at max_tokens"),
    "gpt-4o-cf": (_chat_ok(None, "content_filter"), "LLM_CONTENT_FILTER",
                  "parse() of a completion stopped by the content filter"),
    "gpt-4o-prose": (_chat_ok("Sure! Here is the summary you asked for: the run failed.", "stop"),
                     "LLM_INVALID_RESPONSE", "parse() of a completion that is prose instead of JSON"),
}
OPENAI["gpt-4o-slow"][0].delay = 3

ANTHROPIC = {
    "claude-badkey": (_ant(401, "authentication_error", "invalid x-api-key"), "AUTH_INVALID_API_KEY",
                      "401 authentication_error"),
    "claude-perm": (_ant(403, "permission_error", "Your API key does not have permission to use the specified "
                                                  "resource."), "AUTH_FORBIDDEN", "403 permission_error"),
    "claude-3-opus-20990101": (_ant(404, "not_found_error", "model: claude-3-opus-20990101"), "LLM_MODEL_NOT_FOUND",
                               "404 not_found_error for the model"),
    "claude-ctx": (_ant(400, "invalid_request_error", "prompt is too long: 215104 tokens > 200000 maximum"),
                   "LLM_CONTEXT_LENGTH_EXCEEDED", "400 prompt is too long"),
    "claude-credit": (_ant(400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API. "
                                                         "Please go to Plans & Billing to upgrade or purchase credits."),
                      "RATE_LIMIT_QUOTA_EXCEEDED", "400 credit balance too low"),
    "claude-roles": (_ant(400, "invalid_request_error", "messages: roles must alternate between \"user\" and "
                                                        "\"assistant\", but found multiple \"user\" roles in a row"),
                     "VAL_BAD_REQUEST", "400 invalid_request_error on message roles"),
    "claude-big": (_ant(413, "request_too_large", "Request exceeds the maximum allowed number of bytes."),
                   "VAL_PAYLOAD_TOO_LARGE", "413 request_too_large"),
    "claude-rl": (_ant(429, "rate_limit_error", "This request would exceed the rate limit for your organization "
                                                "(a1b2c3) of 40,000 input tokens per minute. For details, refer to: "
                                                "https://docs.claude.com/en/api/rate-limits."),
                  "RATE_LIMIT_HTTP_429", "429 rate_limit_error"),
    "claude-500": (_ant(500, "api_error", "Internal server error"), "INFRA_INTERNAL_SERVER_ERROR", "500 api_error"),
    "claude-529": (_ant(529, "overloaded_error", "Overloaded"), "LLM_PROVIDER_OVERLOADED", "529 overloaded_error"),
    "claude-stream-overloaded": (Resp(200, (
        'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_01","type":"message",'
        '"role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,'
        '"usage":{"input_tokens":12,"output_tokens":1}}}\n\n'
        'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'),
        ctype="text/event-stream"), "LLM_PROVIDER_OVERLOADED", "stream that sends an overloaded_error event"),
    "claude-slow": (_ant(200, "x", "x"), "NET_TIMEOUT", "server answers after 3 s, timeout 0.5 s"),
}
ANTHROPIC["claude-slow"][0].delay = 3


def _fallback(h):
    path = h.path.split("?")[0]
    m = re.search(r"/models/([^/:]+):", path)
    if m:
        return GENAI[m.group(1)][0]
    try:
        model = json.loads(h.body or b"{}").get("model", "")
    except ValueError:
        model = ""
    for table in (OPENAI, ANTHROPIC, COHERE, MISTRAL, HF):
        if model in table:
            return table[model][0]
    return Resp(404, {"error": "unknown model"})


def _openai(c: Corpus, url: str):
    import openai
    from pydantic import BaseModel

    lib = ver("openai")
    client = openai.OpenAI(api_key="sk-proj-test", base_url=url + "/v1", max_retries=0, timeout=0.5)

    class Summary(BaseModel):
        summary: str

    for model, (_, meaning, what) in OPENAI.items():
        msgs = [{"role": "user", "content": "Summarise the failed run."}]
        if model in ("gpt-4o-length", "gpt-4o-cf", "gpt-4o-prose"):
            parse = getattr(client.chat.completions, "parse", None) or client.beta.chat.completions.parse
            e = catch(parse, model=model, messages=msgs, response_format=Summary)
            accept = ["DATA_JSON_DECODE"] if model == "gpt-4o-prose" else None
        else:
            e = catch(client.chat.completions.create, model=model, messages=msgs)
            accept = {"gpt-4o-slow": ["NET_READ_TIMEOUT"], "gpt-4o-503": ["INFRA_SERVICE_UNAVAILABLE"],
                      "gpt-4o-noaccess": ["AUTH_FORBIDDEN"]}.get(model)
        c.exc(e, lib, FAM, f"chat.completions on a loopback server: {what}", meaning, accept=accept)
    closed = openai.OpenAI(api_key="sk-proj-test", base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=0)
    e = catch(closed.chat.completions.create, model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    c.exc(e, lib, FAM, "chat.completions with base_url on a closed port", "NET_CONNECTION_ERROR",
          accept=["NET_CONNECTION_REFUSED"], style="name")
    e = catch(closed.embeddings.create, model="text-embedding-3-small", input="hi")
    c.exc(e, lib, FAM, "embeddings with base_url on a closed port (exception chain logged)", "NET_CONNECTION_REFUSED",
          style="chain", must="refused")
    retrying = openai.OpenAI(api_key="sk-proj-test", base_url=url + "/v1", max_retries=1, timeout=2)
    e = catch(retrying.chat.completions.create, model="gpt-4o-rl", messages=[{"role": "user", "content": "hi"}])
    c.exc(e, lib, FAM, "chat.completions answered 429 twice (max_retries=1)", "RATE_LIMIT_HTTP_429", style="tb")


def _anthropic(c: Corpus, url: str):
    import anthropic

    lib = ver("anthropic")
    client = anthropic.Anthropic(api_key="sk-ant-test", base_url=url, max_retries=0, timeout=0.5)
    for model, (_, meaning, what) in ANTHROPIC.items():
        kw = dict(model=model, max_tokens=256, messages=[{"role": "user", "content": "Summarise the failed run."}])
        if model == "claude-stream-overloaded":
            def consume():
                with client.messages.stream(**kw) as s:
                    for _ in s:
                        pass
            e = catch(consume)
        else:
            e = catch(client.messages.create, **kw)
        c.exc(e, lib, FAM, f"messages on a loopback server: {what}", meaning,
              accept=["NET_READ_TIMEOUT"] if model == "claude-slow" else None)
    closed = anthropic.Anthropic(api_key="sk-ant-test", base_url=f"http://127.0.0.1:{free_port()}", max_retries=0)
    e = catch(closed.messages.create, model="claude-sonnet-4-5", max_tokens=10,
              messages=[{"role": "user", "content": "hi"}])
    c.exc(e, lib, FAM, "messages with base_url on a closed port", "NET_CONNECTION_REFUSED",
          accept=["NET_CONNECTION_ERROR"], style="qual", must="refused")


COHERE = {
    "command-badkey": (Resp(401, {"message": "invalid api token"}), "AUTH_INVALID_API_KEY", "401 invalid api token"),
    "command-x": (Resp(404, {"message": "model 'command-x' not found, make sure the correct model ID was used and "
                                        "that you have access to the model."}), "LLM_MODEL_NOT_FOUND", "404 model"),
    "command-ctx": (Resp(400, {"message": "too many tokens: size limit exceeded by 11,304 tokens. Try using shorter "
                                          "or fewer inputs, or setting prompt_truncation='AUTO'."}),
                    "LLM_CONTEXT_LENGTH_EXCEEDED", "400 too many tokens"),
    "command-trial": (Resp(429, {"message": "You are using a Trial key, which is limited to 10 API calls / minute. You "
                                            "can continue to use the Trial key for free or upgrade to a Production "
                                            "key with higher rate limits at 'https://dashboard.cohere.com/api-keys'. "
                                            "Contact us on 'https://discord.gg/XW44jPfYJu' or email us at "
                                            "support@cohere.com with any questions"}),
                      "RATE_LIMIT_HTTP_429", "429 trial key rate limit"),
    "command-422": (Resp(422, {"message": "invalid request: message must be at least 1 token long or tool results "
                                          "must be specified."}), "VAL_UNPROCESSABLE_ENTITY", "422 invalid request"),
    "command-500": (Resp(500, {"message": "internal server error, this has been reported to our developers. id "
                                          "7c1d0c9e4b"}), "INFRA_INTERNAL_SERVER_ERROR", "500"),
    "command-503": (Resp(503, {"message": "service unavailable"}), "INFRA_SERVICE_UNAVAILABLE", "503"),
}


def _cohere(c: Corpus, url: str):
    try:
        import cohere
    except ImportError:
        return
    lib = ver("cohere")
    client = cohere.ClientV2(api_key="co-test", base_url=url, timeout=2)
    for model, (_, meaning, what) in COHERE.items():
        e = catch(client.chat, model=model, messages=[{"role": "user", "content": "Summarise the failed run."}],
                  request_options={"max_retries": 0})
        c.exc(e, lib, FAM, f"ClientV2.chat on a loopback server: {what}", meaning)


MISTRAL = {
    "mistral-badkey": (Resp(401, {"message": "Unauthorized", "request_id": "9d2f0b7c1e"}), "AUTH_UNAUTHORIZED",
                       "401 Unauthorized"),
    "mistral-nope": (Resp(400, {"object": "error", "message": "Invalid model: mistral-nope", "type": "invalid_model",
                                "param": None, "code": "1500"}), "LLM_MODEL_NOT_FOUND", "400 invalid_model"),
    "mistral-rl": (Resp(429, {"object": "error", "message": "Requests rate limit exceeded",
                              "type": "rate_limited", "param": None, "code": "1300"}), "RATE_LIMIT_HTTP_429",
                   "429 rate_limited"),
    "mistral-ctx": (Resp(400, {"object": "error", "message": "Prompt contains 40321 tokens and 0 draft tokens, too "
                                                             "large for model with 32768 maximum context length",
                               "type": "invalid_request_prompt", "param": None, "code": "3051"}),
                    "LLM_CONTEXT_LENGTH_EXCEEDED", "400 prompt too large for the context"),
    "mistral-422": (Resp(422, {"detail": [{"type": "missing", "loc": ["body", "messages"], "msg": "Field required"}]}),
                    "VAL_UNPROCESSABLE_ENTITY", "422 validation body"),
    "mistral-503": (Resp(503, {"object": "error", "message": "Service unavailable.", "type": "service_unavailable",
                               "param": None, "code": "3505"}), "INFRA_SERVICE_UNAVAILABLE", "503"),
}


def _mistral(c: Corpus, url: str):
    try:
        from mistralai import Mistral
    except ImportError:
        try:
            from mistralai.client import Mistral
        except ImportError:
            return
    lib = ver("mistralai")
    client = Mistral(api_key="mistral-test", server_url=url, timeout_ms=2000)
    for model, (_, meaning, what) in MISTRAL.items():
        e = catch(client.chat.complete, model=model, messages=[{"role": "user", "content": "Summarise the run."}])
        c.exc(e, lib, FAM, f"chat.complete on a loopback server: {what}", meaning)


GENAI = {
    "gemini-badkey": (_goog(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
                      "AUTH_INVALID_API_KEY", "400 API key not valid"),
    "gemini-9.0-pro": (_goog(404, "NOT_FOUND", "models/gemini-9.0-pro is not found for API version v1beta, or is not "
                                               "supported for generateContent. Call ListModels to see the list of "
                                               "available models and their supported methods."),
                       "LLM_MODEL_NOT_FOUND", "404 model not found"),
    "gemini-quota": (_goog(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and "
                                                      "billing details. For more information on this error, head to: "
                                                      "https://ai.google.dev/gemini-api/docs/rate-limits."),
                     "RATE_LIMIT_QUOTA_EXCEEDED", "429 quota exceeded"),
    "gemini-ctx": (_goog(400, "INVALID_ARGUMENT", "The input token count (1210031) exceeds the maximum number of "
                                                  "tokens allowed (1048576)."), "LLM_CONTEXT_LENGTH_EXCEEDED",
                   "400 input token count exceeds the maximum"),
    "gemini-perm": (_goog(403, "PERMISSION_DENIED", "Permission denied: Consumer 'api_key:AIzaSyTEST' has been "
                                                    "suspended."), "AUTH_FORBIDDEN", "403 permission denied"),
    "gemini-500": (_goog(500, "INTERNAL", "An internal error has occurred. Please retry or report in "
                                          "https://developers.generativeai.google/guide/troubleshooting"),
                   "INFRA_INTERNAL_SERVER_ERROR", "500 INTERNAL"),
    "gemini-503": (_goog(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
                   "LLM_PROVIDER_OVERLOADED", "503 model overloaded"),
}


def _genai(c: Corpus, url: str):
    try:
        from google import genai
        from google.genai import types
    except ImportError:
        return
    lib = ver("google-genai")
    client = genai.Client(api_key="AIzaSyTEST", http_options=types.HttpOptions(base_url=url, timeout=2000))
    for model, (_, meaning, what) in GENAI.items():
        e = catch(client.models.generate_content, model=model, contents="Summarise the failed run.")
        c.exc(e, lib, FAM, f"models.generate_content on a loopback server: {what}", meaning,
              accept=["INFRA_SERVICE_UNAVAILABLE"] if model == "gemini-503" else None)


HF = {
    "hf-badtoken": (Resp(401, {"error": "Invalid credentials in Authorization header"}), "AUTH_INVALID_API_KEY",
                    "401 invalid credentials"),
    "hf-loading": (Resp(503, {"error": "Model meta-llama/Llama-3.1-8B-Instruct is currently loading",
                              "estimated_time": 41.5}), "INFRA_SERVICE_UNAVAILABLE", "503 model loading"),
    "hf-rl": (Resp(429, {"error": "Rate limit reached. You reached free usage limit (reset hourly). Please subscribe "
                                  "to a plan at https://huggingface.co/pricing to use the API at this rate"}),
              "RATE_LIMIT_HTTP_429", "429 free usage limit"),
}


def _hf(c: Corpus, url: str):
    try:
        from huggingface_hub import InferenceClient
    except ImportError:
        return
    lib = ver("huggingface-hub", "huggingface_hub")
    for model, (_, meaning, what) in HF.items():
        client = InferenceClient(base_url=url + "/v1", api_key="hf_test", timeout=2)
        e = catch(client.chat_completion, model=model, messages=[{"role": "user", "content": "hi"}])
        c.exc(e, lib, FAM, f"InferenceClient.chat_completion on a loopback server: {what}", meaning)


def run(c: Corpus):
    with ScriptedServer(fallback=_fallback) as srv:
        for fn in (_openai, _anthropic, _cohere, _mistral, _genai, _hf):
            try:
                fn(c, srv.url)
            except Exception as ex:  # noqa: BLE001
                c.skipped.append(f"{fn.__name__} aborted: {ex!r}")
