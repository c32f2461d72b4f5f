#include "kube/demo-cluster/api_server.h"

#include <algorithm>
#include <map>

#include "kube/demo-cluster/patches.h"
#include "kube/demo-cluster/selectors.h"
#include "kube/demo-cluster/tables.h"
#include "kube/manifest.h"

namespace sluice::kube::demo {
namespace {

using Query = std::map<std::string, std::string>;

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) != 0 &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2])) != 0) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i] == '+' ? ' ' : text[i]);
    }
  }
  return out;
}

Query parse_query(std::string_view query) {
  Query result;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    result[percent_decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return result;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  while (!path.empty()) {
    const auto slash = path.find('/');
    const auto segment = path.substr(0, slash);
    if (!segment.empty()) segments.push_back(percent_decode(segment));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
  }
  return segments;
}

ApiResponse json_response(int status, const json& body) { return {status, "application/json", body.dump()}; }

ApiResponse status_response(const ApiError& error) {
  json status = {{"kind", "Status"},       {"apiVersion", "v1"},       {"metadata", json::object()},
                 {"status", "Failure"},    {"message", error.what()},  {"reason", error.reason},
                 {"code", error.code}};
  if (!error.details.empty()) status["details"] = error.details;
  return json_response(error.code, status);
}

json parse_body(const std::string& body) {
  try {
    // nlohmann's parser has no depth limit of its own.
    return json::parse(body, [](int depth, json::parse_event_t, json&) {
      if (depth > 64) throw ApiError(400, "BadRequest", "the request body is nested deeper than 64 levels");
      return true;
    });
  } catch (const json::exception& error) {
    throw ApiError(400, "BadRequest", std::string("the request body is not valid JSON: ") + error.what());
  }
}

// Where in the API a request points.
struct Route {
  const ResourceType* type = nullptr;
  std::string ns;
  std::string name;
  std::string subresource;
};

std::string verb_of(const std::string& method, const Route& route) {
  if (method == "GET") return route.name.empty() ? "list" : "get";
  if (method == "POST") return "create";
  if (method == "PUT") return "update";
  if (method == "PATCH") return "patch";
  if (method == "DELETE") return "delete";
  return "unknown";
}

void authorize(const Caller& caller, const std::string& verb, const Route& route) {
  if (std::find(caller.groups.begin(), caller.groups.end(), kAdminGroup) != caller.groups.end()) return;
  const bool reads = verb == "get" || verb == "list";
  if (caller.user == kViewerUser && reads && route.type->plural != "secrets") return;
  const std::string resource = route.type->plural + (route.subresource.empty() ? "" : "/" + route.subresource);
  std::string message = (route.name.empty() ? resource : resource + " \"" + route.name + "\"") +
                        " is forbidden: User \"" + caller.user + "\" cannot " + verb + " resource \"" + resource +
                        "\" in API group \"" + route.type->group + "\"";
  message += route.ns.empty() ? " at the cluster scope" : " in the namespace \"" + route.ns + "\"";
  throw ApiError(403, "Forbidden", message,
                 {{"name", route.name}, {"group", route.type->group}, {"kind", route.type->plural}});
}

bool dry_run_of(const Query& query) {
  const auto found = query.find("dryRun");
  if (found == query.end() || found->second.empty()) return false;
  if (found->second != "All") {
    throw ApiError(400, "BadRequest", "invalid dry run value \"" + found->second + "\": only \"All\" is supported");
  }
  return true;
}

bool wants_table(const std::string& accept) { return accept.find("as=Table") != std::string::npos; }

json scale_of(const json& deployment) {
  std::string selector;
  const json match_labels = deployment["spec"]["selector"].value("matchLabels", json::object());
  for (const auto& [key, value] : match_labels.items()) {
    selector += (selector.empty() ? "" : ",") + key + "=" + value.get<std::string>();
  }
  const auto& metadata = deployment["metadata"];
  return {{"kind", "Scale"},
          {"apiVersion", "autoscaling/v1"},
          {"metadata",
           {{"name", metadata["name"]},
            {"namespace", metadata["namespace"]},
            {"uid", metadata["uid"]},
            {"resourceVersion", metadata["resourceVersion"]},
            {"creationTimestamp", metadata["creationTimestamp"]}}},
          {"spec", {{"replicas", deployment["spec"].value("replicas", 1)}}},
          {"status", {{"replicas", deployment.value("status", json::object()).value("replicas", 0)}, {"selector", selector}}}};
}

}  // namespace

namespace {

class RequestHandler {
 public:
  RequestHandler(ClusterState& state, const ApiRequest& request, const std::string& server_address)
      : state_(state), request_(request), server_address_(server_address) {
    const auto question = request.target.find('?');
    path_ = split_path(std::string_view(request.target).substr(0, question));
    if (question != std::string::npos) query_ = parse_query(std::string_view(request.target).substr(question + 1));
  }

  ApiResponse run() {
    if (path_.size() == 1 && (path_[0] == "healthz" || path_[0] == "livez" || path_[0] == "readyz")) {
      return {200, "text/plain", "ok"};
    }
    if (request_.method == "GET") {
      if (path_ == std::vector<std::string>{"version"}) return json_response(200, version_document());
      if (path_ == std::vector<std::string>{"api"}) return json_response(200, core_versions_document(server_address_));
      if (path_ == std::vector<std::string>{"apis"}) return json_response(200, group_list_document());
      json resources = nullptr;
      if (path_.size() == 2 && path_[0] == "api") resources = resource_list_document("", path_[1]);
      if (path_.size() == 3 && path_[0] == "apis") resources = resource_list_document(path_[1], path_[2]);
      if (!resources.is_null()) return json_response(200, resources);
    }
    const Route route = route_of();
    const std::string verb = verb_of(request_.method, route);
    authorize(request_.caller, verb, route);
    if (query_.count("watch") != 0 && query_["watch"] != "false" && query_["watch"] != "0") {
      throw ApiError(405, "MethodNotAllowed", "the demo cluster does not serve watches");
    }
    if (route.subresource == "log") return pod_log(route);
    if (route.subresource == "scale") return scale(route, verb);
    if (!route.subresource.empty()) {
      throw ApiError(404, "NotFound", "the server could not find the requested resource");
    }
    if (verb == "list") return list(route);
    if (verb == "get") return get(route);
    if (verb == "create") return create(route);
    if (verb == "update") return update(route);
    if (verb == "patch") return patch(route);
    if (verb == "delete") return remove(route);
    throw ApiError(405, "MethodNotAllowed", "method " + request_.method + " is not allowed here");
  }

 private:
  [[noreturn]] static void not_found() {
    throw ApiError(404, "NotFound", "the server could not find the requested resource");
  }

  Route route_of() const {
    std::size_t at = 0;
    std::string group;
    std::string version;
    if (path_.size() >= 3 && path_[0] == "api") {
      version = path_[1];
      at = 2;
    } else if (path_.size() >= 4 && path_[0] == "apis") {
      group = path_[1];
      version = path_[2];
      at = 3;
    } else {
      not_found();
    }
    const std::vector<std::string> rest(path_.begin() + static_cast<long>(at), path_.end());
    Route route;
    std::vector<std::string> tail = rest;
    if (rest.size() >= 3 && rest[0] == "namespaces" && find_resource_type(group, version, rest[2]) != nullptr) {
      route.ns = rest[1];
      tail.assign(rest.begin() + 2, rest.end());
    }
    route.type = find_resource_type(group, version, tail[0]);
    if (route.type == nullptr || tail.size() > 3) not_found();
    if (route.type->namespaced && route.ns.empty() && tail.size() > 1) not_found();
    if (!route.type->namespaced && !route.ns.empty()) not_found();
    if (tail.size() > 1) route.name = tail[1];
    if (tail.size() > 2) route.subresource = tail[2];
    return route;
  }

  const json& existing(const Route& route) const {
    const json* object = state_.find(route.type->plural, route.ns, route.name);
    if (object == nullptr) {
      throw ApiError(404, "NotFound", route.type->plural + " \"" + route.name + "\" not found",
                     {{"name", route.name}, {"group", route.type->group}, {"kind", route.type->plural}});
    }
    return *object;
  }

  TableObjects table_objects() {
    const auto include = query_.find("includeObject");
    if (include == query_.end() || include->second == "Metadata") return TableObjects::metadata;
    if (include->second == "Object") return TableObjects::full;
    return TableObjects::none;
  }

  ApiResponse list(const Route& route) {
    std::vector<const json*> objects;
    try {
      const auto labels = LabelSelector::parse(query_["labelSelector"]);
      const auto fields = FieldSelector::parse(query_["fieldSelector"]);
      for (const json* object : state_.list(route.type->plural, route.ns)) {
        if (labels.matches(object->at("metadata").value("labels", json::object())) && fields.matches(*object)) {
          objects.push_back(object);
        }
      }
    } catch (const SelectorError& error) {
      throw ApiError(400, "BadRequest", error.what());
    }
    if (wants_table(request_.accept)) {
      return json_response(200, make_table(*route.type, objects, table_objects(), Clock::now(), state_.resource_version()));
    }
    json items = json::array();
    for (const json* object : objects) items.push_back(*object);
    return json_response(200, {{"kind", route.type->kind + "List"},
                               {"apiVersion", route.type->api_version()},
                               {"metadata", {{"resourceVersion", state_.resource_version()}}},
                               {"items", items}});
  }

  ApiResponse get(const Route& route) {
    const json& object = existing(route);
    if (wants_table(request_.accept)) {
      return json_response(200, make_table(*route.type, {&object}, table_objects(), Clock::now(), state_.resource_version()));
    }
    return json_response(200, object);
  }

  // The object in the body, checked against the path it was sent to.
  json body_object(const Route& route) {
    json object = parse_body(request_.body);
    if (!object.is_object()) throw ApiError(400, "BadRequest", "the request body must be a JSON object");
    auto& metadata = object["metadata"];
    if (!metadata.is_object()) metadata = json::object();
    if (route.type->namespaced) {
      const std::string sent = metadata.value("namespace", "");
      if (!sent.empty() && sent != route.ns) {
        throw ApiError(400, "BadRequest",
                       "the namespace of the provided object does not match the namespace sent on the request");
      }
      metadata["namespace"] = route.ns;
    }
    if (!route.name.empty() && metadata.value("name", "") != route.name) {
      throw ApiError(400, "BadRequest", "the name of the object (" + metadata.value("name", "") +
                                            ") does not match the name on the URL (" + route.name + ")");
    }
    const std::string kind = object.value("kind", route.type->kind);
    if (kind != route.type->kind) {
      throw ApiError(400, "BadRequest", "the body is a " + kind + ", but the URL names " + route.type->plural);
    }
    return object;
  }

  ApiResponse create(const Route& route) {
    if (!route.name.empty()) throw ApiError(405, "MethodNotAllowed", "POST goes to the collection, not to an object");
    return json_response(201, state_.create(*route.type, body_object(route), dry_run_of(query_)));
  }

  ApiResponse update(const Route& route) {
    return json_response(200, state_.replace(*route.type, body_object(route), dry_run_of(query_)));
  }

  ApiResponse patch(const Route& route) {
    const PatchType* type = patch_type_of(request_.content_type);
    if (type == nullptr) {
      throw ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media "
                                                  "types include: application/json-patch+json, "
                                                  "application/merge-patch+json, "
                                                  "application/apply-patch+yaml, "
                                                  "application/strategic-merge-patch+json");
    }
    const bool dry_run = dry_run_of(query_);
    if (*type == PatchType::apply) return server_side_apply(route, dry_run);
    const json patched = apply_patch(*type, existing(route), parse_body(request_.body));
    return json_response(200, state_.replace(*route.type, patched, dry_run));
  }

  // Server-side apply without field ownership: the applied configuration is merged
  // into the live object (or creates it); conflicts between managers are not tracked.
  ApiResponse server_side_apply(const Route& route, bool dry_run) {
    if (query_["fieldManager"].empty()) {
      throw ApiError(400, "BadRequest", "PATCH, application/apply-patch+yaml requires fieldManager");
    }
    json applied;
    try {
      applied = parse_manifest(request_.body);
    } catch (const ManifestError& error) {
      throw ApiError(400, "BadRequest", std::string("error decoding YAML: ") + error.what());
    }
    if (applied.value("kind", "") != route.type->kind || applied.value("apiVersion", "") != route.type->api_version()) {
      throw ApiError(400, "BadRequest", "apiVersion and kind of the manifest (" + applied.value("apiVersion", "") +
                                            ", " + applied.value("kind", "") + ") do not match the URL (" +
                                            route.type->api_version() + ", " + route.type->kind + ")");
    }
    ApiRequest as_body = request_;
    as_body.body = applied.dump();
    RequestHandler checked(state_, as_body, server_address_);
    json object = checked.body_object(route);
    if (state_.find(route.type->plural, route.ns, route.name) == nullptr) {
      return json_response(201, state_.create(*route.type, std::move(object), dry_run));
    }
    object["metadata"].erase("resourceVersion");
    return json_response(200, state_.replace(*route.type, apply_patch(PatchType::apply, existing(route), object), dry_run));
  }

  ApiResponse remove(const Route& route) {
    if (route.name.empty()) throw ApiError(405, "MethodNotAllowed", "the demo cluster does not delete collections");
    return json_response(200, state_.remove(*route.type, route.ns, route.name, dry_run_of(query_)));
  }

  ApiResponse scale(const Route& route, const std::string& verb) {
    if (route.type->plural != "deployments") not_found();
    json deployment = existing(route);
    json current = scale_of(deployment);
    if (verb == "get") return json_response(200, current);
    json wanted;
    if (verb == "update") {
      wanted = parse_body(request_.body);
    } else if (verb == "patch") {
      const PatchType* type = patch_type_of(request_.content_type);
      if (type == nullptr || *type == PatchType::apply) {
        throw ApiError(415, "UnsupportedMediaType", "the scale subresource takes JSON, merge or strategic merge patches");
      }
      wanted = apply_patch(*type, current, parse_body(request_.body));
    } else {
      throw ApiError(405, "MethodNotAllowed", "the scale subresource supports get, update and patch");
    }
    const json& replicas = wanted.value("spec", json::object()).value("replicas", json());
    if (!replicas.is_number_integer() || replicas.get<long long>() < 0 || replicas.get<long long>() > 1000) {
      throw ApiError(422, "Invalid", "Scale.autoscaling \"" + route.name +
                                         "\" is invalid: spec.replicas: Invalid value: must be an integer from 0 to 1000");
    }
    deployment["spec"]["replicas"] = replicas;
    return json_response(200, scale_of(state_.replace(*route.type, deployment, dry_run_of(query_))));
  }

  ApiResponse pod_log(const Route& route) {
    if (route.type->plural != "pods" || request_.method != "GET") not_found();
    const json& pod = existing(route);
    const auto& containers = pod["spec"]["containers"];
    std::string container = query_["container"];
    if (container.empty()) {
      if (containers.size() != 1) {
        std::string names;
        for (const auto& c : containers) names += (names.empty() ? "" : " ") + c.value("name", "");
        throw ApiError(400, "BadRequest", "a container name must be specified for pod " + route.name +
                                              ", choose one of: [" + names + "]");
      }
      container = containers[0].value("name", "");
    }
    const ContainerLogs* logs = state_.logs(pod["metadata"]["uid"], container);
    if (logs == nullptr) {
      const bool known = std::any_of(containers.begin(), containers.end(),
                                     [&](const json& c) { return c.value("name", "") == container; });
      if (!known) {
        throw ApiError(400, "BadRequest", "container " + container + " is not valid for pod " + route.name);
      }
      throw ApiError(400, "BadRequest", "container \"" + container + "\" in pod \"" + route.name +
                                            "\" is waiting to start: the pod is not scheduled to a node");
    }
    const bool previous = query_["previous"] == "true";
    const auto& lines = previous ? logs->previous : logs->current;
    if (previous && lines.empty()) {
      throw ApiError(400, "BadRequest", "previous terminated container \"" + container + "\" in pod \"" + route.name +
                                            "\" not found");
    }
    std::size_t first = 0;
    if (const auto since = query_["sinceSeconds"]; !since.empty()) {
      const auto cutoff = Clock::now() - std::chrono::seconds(std::stoll(since));
      while (first < lines.size() && lines[first].time < cutoff) ++first;
    }
    if (const auto tail = query_["tailLines"]; !tail.empty()) {
      const auto wanted = static_cast<std::size_t>(std::max(0LL, std::stoll(tail)));
      if (lines.size() - first > wanted) first = lines.size() - wanted;
    }
    const bool timestamps = query_["timestamps"] == "true";
    std::string text;
    for (std::size_t i = first; i < lines.size(); ++i) {
      if (timestamps) text += to_rfc3339(lines[i].time) + " ";
      text += lines[i].text + "\n";
    }
    if (const auto limit = query_["limitBytes"]; !limit.empty()) {
      text.resize(std::min(text.size(), static_cast<std::size_t>(std::max(0LL, std::stoll(limit)))));
    }
    return {200, "text/plain", text};
  }

  ClusterState& state_;
  const ApiRequest& request_;
  const std::string& server_address_;
  std::vector<std::string> path_;
  Query query_;
};

}  // namespace

ApiResponse ApiServer::handle(const ApiRequest& request) {
  try {
    return RequestHandler(state_, request, server_address_).run();
  } catch (const ApiError& error) {
    return status_response(error);
  } catch (const std::invalid_argument&) {
    return status_response(ApiError(400, "BadRequest", "a query parameter is not a number"));
  } catch (const std::out_of_range&) {
    return status_response(ApiError(400, "BadRequest", "a query parameter is out of range"));
  } catch (const json::exception& error) {
    return status_response(ApiError(422, "Invalid", std::string("the object is malformed: ") + error.what()));
  }
}

}  // namespace sluice::kube::demo
