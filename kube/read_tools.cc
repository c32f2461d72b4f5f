// The read tools, annotated readOnlyHint: what `kubectl get`, `describe`, `logs` and
// `get events` give an SRE, as compact text plus structuredContent.
#include <algorithm>
#include <map>

#include "kube/object_fields.h"
#include "kube/timestamps.h"
#include "kube/tools.h"

// GCC 12 at -O2 reports a false -Wmismatched-new-delete on Asio's awaitable frames
// (its own operator new and delete, which do match) in this file's coroutines.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace sluice::kube {
namespace {

std::string age_of(const json& object) {
  return age_since(text_at(object, "/metadata/creationTimestamp"), Clock::now());
}

// Without managedFields, which is bookkeeping a reader never needs and a model pays for.
json compact(json object) {
  if (object.contains("metadata") && object["metadata"].is_object()) object["metadata"].erase("managedFields");
  return object;
}

json read_only_annotations(const char* title) {
  return {{"title", title}, {"readOnlyHint", true}, {"openWorldHint", false}};
}

std::string with_query(std::string path, const std::vector<std::pair<std::string, std::string>>& parameters) {
  char separator = '?';
  for (const auto& [key, value] : parameters) {
    if (value.empty()) continue;
    path += separator + key + "=" + url_encode(value);
    separator = '&';
  }
  return path;
}

std::string selector_query(const Arguments& arguments, const std::string& path) {
  return with_query(path, {{"labelSelector", arguments.optional_string("labelSelector").value_or("")},
                           {"fieldSelector", arguments.optional_string("fieldSelector").value_or("")}});
}

json pod_summary(const json& pod) {
  int ready = 0;
  long long restarts = 0;
  const auto statuses = pod.value("status", json::object()).value("containerStatuses", json::array());
  for (const auto& container : statuses) {
    ready += container.value("ready", false) ? 1 : 0;
    restarts += container.value("restartCount", 0LL);
  }
  const auto containers = pod.value("spec", json::object()).value("containers", json::array()).size();
  return {{"namespace", text_at(pod, "/metadata/namespace")},
          {"name", text_at(pod, "/metadata/name")},
          {"ready", std::to_string(ready) + "/" + std::to_string(containers)},
          {"status", pod_status(pod)},
          {"restarts", restarts},
          {"age", age_of(pod)},
          {"node", text_at(pod, "/spec/nodeName")},
          {"ip", text_at(pod, "/status/podIP")}};
}

std::string label_selector_of(const json& match_labels) {
  std::string selector;
  for (const auto& [key, value] : match_labels.items()) {
    if (value.is_string()) selector += (selector.empty() ? "" : ",") + key + "=" + value.get<std::string>();
  }
  return selector;
}

std::string event_time(const json& event) {
  for (const char* pointer : {"/lastTimestamp", "/eventTime", "/firstTimestamp", "/metadata/creationTimestamp"}) {
    if (auto time = text_at(event, pointer); !time.empty()) return time;
  }
  return "";
}

// Oldest first, so the latest is next to where a reader's eye ends; warnings
// before normal events when asked.
void sort_events(std::vector<json>& events, bool warnings_first) {
  std::stable_sort(events.begin(), events.end(), [&](const json& a, const json& b) {
    if (warnings_first) {
      const bool a_warning = a.value("type", "") == "Warning";
      const bool b_warning = b.value("type", "") == "Warning";
      if (a_warning != b_warning) return a_warning;
    }
    return event_time(a).substr(0, 19) < event_time(b).substr(0, 19);
  });
}

json event_summary(const json& event) {
  std::string kind = text_at(event, "/involvedObject/kind");
  std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) { return std::tolower(c); });
  return {{"lastSeen", age_since(event_time(event), Clock::now())},
          {"time", event_time(event)},
          {"type", event.value("type", "")},
          {"reason", event.value("reason", "")},
          {"object", kind + "/" + text_at(event, "/involvedObject/name")},
          {"namespace", text_at(event, "/involvedObject/namespace")},
          {"count", event.value("count", 1)},
          {"message", event.value("message", "")}};
}

std::string events_text(const std::vector<json>& summaries) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& event : summaries) {
    rows.push_back({event["lastSeen"], event["type"], event["reason"], event["object"], std::to_string(event["count"].get<int>()),
                    event["message"]});
  }
  return format_table({"LAST SEEN", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE"}, rows);
}

Tool namespaces_list(ToolContext& context) {
  return {{{"name", "namespaces_list"},
           {"description", "List the namespaces of the cluster with their status and age."},
           {"inputSchema", input_schema({})},
           {"annotations", read_only_annotations("List namespaces")}},
          [&context](const json&) -> asio::awaitable<json> {
            const json list = co_await context.api().get("/api/v1/namespaces");
            std::vector<std::vector<std::string>> rows;
            json namespaces = json::array();
            for (const auto& ns : list.value("items", json::array())) {
              const std::string name = text_at(ns, "/metadata/name");
              if (!context.options().allowed_namespaces.empty() && context.options().allowed_namespaces.count(name) == 0) {
                continue;
              }
              rows.push_back({name, text_at(ns, "/status/phase"), age_of(ns)});
              namespaces.push_back({{"name", name}, {"status", rows.back()[1]}, {"age", rows.back()[2]}});
            }
            co_return text_result(format_table({"NAME", "STATUS", "AGE"}, rows), {{"namespaces", namespaces}});
          }};
}

Tool pods_list(ToolContext& context) {
  return {{{"name", "pods_list"},
           {"description",
            "List pods with readiness, status (CrashLoopBackOff, Pending, ...), restarts, age and node, in one "
            "namespace or all, optionally filtered by label or field selector (e.g. status.phase=Pending)."},
           {"inputSchema", input_schema({namespace_property(), all_namespaces_property(),
                                         {"labelSelector", "string", "Label selector, e.g. app=checkout,tier!=cache"},
                                         {"fieldSelector", "string", "Field selector, e.g. status.phase=Running"}})},
           {"annotations", read_only_annotations("List pods")}},
          [&context](const json& raw) -> asio::awaitable<json> {
            const Arguments arguments(raw);
            const std::string ns = context.list_namespace(arguments);
            const ResourceType pods{"v1", "Pod", "pods", true};
            const json list = co_await context.api().get(selector_query(arguments, pods.collection_path(ns)));
            std::vector<std::vector<std::string>> rows;
            json summaries = json::array();
            for (const auto& pod : list.value("items", json::array())) {
              json summary = pod_summary(pod);
              std::vector<std::string> row = {summary["name"], summary["ready"], summary["status"],
                                              std::to_string(summary["restarts"].get<long long>()), summary["age"],
                                              summary["node"]};
              if (ns.empty()) row.insert(row.begin(), summary["namespace"].get<std::string>());
              rows.push_back(std::move(row));
              summaries.push_back(std::move(summary));
            }
            std::vector<std::string> headers = {"NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"};
            if (ns.empty()) headers.insert(headers.begin(), "NAMESPACE");
            std::string text = rows.empty() ? "No pods found" + (ns.empty() ? std::string{} : " in namespace " + ns) + ".\n"
                                            : format_table(headers, rows);
            co_return text_result(std::move(text), {{"pods", summaries}});
          }};
}

Tool pods_get(ToolContext& context) {
  return {{{"name", "pods_get"},
           {"description", "Get one pod: its full spec and status (containers, states, conditions), as JSON."},
           {"inputSchema", input_schema({namespace_property(), {"name", "string", "Pod name", true}})},
           {"annotations", read_only_annotations("Get a pod")}},
          [&context](const json& raw) -> asio::awaitable<json> {
            const Arguments arguments(raw);
            const std::string ns = context.namespace_of(arguments);
            const ResourceType pods{"v1", "Pod", "pods", true};
            const json pod = compact(co_await context.api().get(pods.collection_path(ns) + "/" + url_encode(arguments.string("name"))));
            const json summary = pod_summary(pod);
            std::string text = "pod " + ns + "/" + summary["name"].get<std::string>() + ": " +
                               summary["status"].get<std::string>() + ", ready " + summary["ready"].get<std::string>() +
                               ", restarts " + std::to_string(summary["restarts"].get<long long>()) + "\n" + pod.dump(2);
            co_return text_result(std::move(text), pod);
          }};
}

Tool pods_log(ToolContext& context) {
  return {{{"name", "pods_log"},
           {"description",
            "Read a container's log. Use previous=true for the log of the last crashed run of a crash-looping "
            "container. Output is capped; a cut is marked."},
           {"inputSchema",
            input_schema({namespace_property(),
                          {"name", "string", "Pod name", true},
                          {"container", "string", "Container name; needed when the pod has several"},
                          {"tailLines", "integer", "Only the last N lines (default 200)"},
                          {"sinceSeconds", "integer", "Only lines newer than this many seconds"},
                          {"previous", "boolean", "The previous, terminated run of the container"}})},
           {"annotations", read_only_annotations("Read pod logs")}},
          [&context](const json& raw) -> asio::awaitable<json> {
            const Arguments arguments(raw);
            const std::string ns = context.namespace_of(arguments);
            const std::string name = arguments.string("name");
            const auto tail = arguments.optional_integer("tailLines", 1, 100000).value_or(200);
            const auto since = arguments.optional_integer("sinceSeconds", 1, 365LL * 24 * 3600);
            const bool previous = arguments.flag("previous");
            const auto max_bytes = context.options().max_log_bytes;
            const std::string path = with_query(
                "/api/v1/namespaces/" + url_encode(ns) + "/pods/" + url_encode(name) + "/log",
                {{"container", arguments.optional_string("container").value_or("")},
                 {"tailLines", std::to_string(tail)},
                 {"sinceSeconds", since ? std::to_string(*since) : ""},
                 {"previous", previous ? "true" : ""},
                 {"limitBytes", std::to_string(max_bytes + 1)}});
            std::string log = co_await context.api().get_text(path);
            const bool truncated = log.size() > max_bytes;
            if (truncated) log.resize(max_bytes);
            std::string text = log.empty() ? "(the log is empty)\n" : log;
            if (truncated) text += "\n[output cut at " + std::to_string(max_bytes) + " bytes; use tailLines or sinceSeconds]\n";
            co_return text_result(std::move(text), {{"namespace", ns},
                                                    {"pod", name},
                                                    {"previous", previous},
                                                    {"truncated", truncated},
                                                    {"bytes", log.size()}});
          }};
}

Tool events_list(ToolContext& context) {
  return {{{"name", "events_list"},
           {"description",
            "List events (scheduling failures, back-offs, kills, scaling), oldest first, optionally only those about "
            "one object, with warnings first."},
           {"inputSchema",
            input_schema({namespace_property(), all_namespaces_property(),
                          {"involvedObjectName", "string", "Only events about the object of this name"},
                          {"involvedObjectKind", "string", "Only events about objects of this kind, e.g. Pod"},
                          {"warningsFirst", "boolean", "Put Warning events before Normal ones"},
                          {"limit", "integer", "At most this many of the most recent events (default 50)"}})},
           {"annotations", read_only_annotations("List events")}},
          [&context](const json& raw) -> asio::awaitable<json> {
            const Arguments arguments(raw);
            const std::string ns = context.list_namespace(arguments);
            std::string selector;
            if (auto name = arguments.optional_string("involvedObjectName"); name && !name->empty()) {
              selector = "involvedObject.name=" + *name;
            }
            if (auto kind = arguments.optional_string("involvedObjectKind"); kind && !kind->empty()) {
              selector += (selector.empty() ? "" : ",") + std::string("involvedObject.kind=") + *kind;
            }
            const auto limit = static_cast<std::size_t>(arguments.optional_integer("limit", 1, 1000).value_or(50));
            const ResourceType events{"v1", "Event", "events", true};
            const std::string path = with_query(events.collection_path(ns), {{"fieldSelector", selector}});
            const json list = co_await context.api().get(path);
            std::vector<json> items = list.value("items", json::array());
            sort_events(items, false);
            if (items.size() > limit) items.erase(items.begin(), items.end() - static_cast<long>(limit));
            sort_events(items, arguments.flag("warningsFirst"));
            std::vector<json> summaries;
            for (const auto& event : items) summaries.push_back(event_summary(event));
            std::string text = summaries.empty() ? std::string("No events found.\n") : events_text(summaries);
            json structured = {{"events", json(summaries)}};
            co_return text_result(std::move(text), std::move(structured));
          }};
}

json deployment_summary(const json& deployment) {
  json images = json::array();
  for (const auto& container : deployment["spec"]["template"]["spec"].value("containers", json::array())) {
    images.push_back(container.value("image", ""));
  }
  return {{"namespace", text_at(deployment, "/metadata/namespace")},
          {"name", text_at(deployment, "/metadata/name")},
          {"replicas", number_at(deployment, "/spec/replicas")},
          {"ready", number_at(deployment, "/status/readyReplicas")},
          {"upToDate", number_at(deployment, "/status/updatedReplicas")},
          {"available", number_at(deployment, "/status/availableReplicas")},
          {"age", age_of(deployment)},
          {"images", images}};
}

Tool deployments_list(ToolContext& context) {
  return {{{"name", "deployments_list"},
           {"description", "List deployments with ready/desired replicas, up-to-date, available, age and images."},
           {"inputSchema", input_schema({namespace_property(), all_namespaces_property(),
                                         {"labelSelector", "string", "Label selector, e.g. team=payments"}})},
           {"annotations", read_only_annotations("List deployments")}},
          [&context](const json& raw) -> asio::awaitable<json> {
            const Arguments arguments(raw);
            const std::string ns = context.list_namespace(arguments);
            const ResourceType deployments{"apps/v1", "Deployment", "deployments", true};
            const json list = co_await context.api().get(selector_query(arguments, deployments.collection_path(ns)));
            std::vector<std::vector<std::string>> rows;
            json summaries = json::array();
            for (const auto& deployment : list.value("items", json::array())) {
              json summary = deployment_summary(deployment);
              std::string images;
              for (const auto& image : summary["images"]) images += (images.empty() ? "" : ",") + image.get<std::string>();
              std::vector<std::string> row = {
                  summary["name"], std::to_string(summary["ready"].get<long long>()) + "/" + std::to_string(summary["replicas"].get<long long>()),
                  std::to_string(summary["upToDate"].get<long long>()), std::to_string(summary["available"].get<long long>()),
                  summary["age"], images};
              if (ns.empty()) row.insert(row.begin(), summary["namespace"].get<std::string>());
              rows.push_back(std::move(row));
              summaries.push_back(std::move(summary));
            }
            std::vector<std::string> headers = {"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "IMAGES"};
            if (ns.empty()) headers.insert(headers.begin(), "NAMESPACE");
            co_return text_result(rows.empty() ? std::string("No deployments found.\n") : format_table(headers, rows),
                                  {{"deployments", summaries}});
          }};
}

// What deployments_describe says, from what it fetched.
json describe(const std::string& ns, const std::string& name, const json& deployment, const std::string& selector,
              const json& sets, const json& pod_list, const json& event_list) {

  const json summary = deployment_summary(deployment);
  std::string text = "Deployment " + ns + "/" + name + " (age " + summary["age"].get<std::string>() + ")\n";
  text += "Replicas: " + std::to_string(summary["replicas"].get<long long>()) + " desired, " +
          std::to_string(summary["upToDate"].get<long long>()) + " up-to-date, " +
          std::to_string(summary["ready"].get<long long>()) + " ready, " +
          std::to_string(summary["available"].get<long long>()) + " available\n";
  text += "Selector: " + selector + "\nStrategy: " + text_at(deployment, "/spec/strategy/type") + "\n";
  const auto annotations = deployment["spec"]["template"].value("metadata", json::object()).value("annotations", json::object());
  if (annotations.contains("kubectl.kubernetes.io/restartedAt")) {
    text += "Restarted at: " + annotations["kubectl.kubernetes.io/restartedAt"].get<std::string>() + "\n";
  }
  text += "Containers:\n";
  json containers = json::array();
  for (const auto& container : deployment["spec"]["template"]["spec"].value("containers", json::array())) {
    std::string env;
    json env_names = json::array();
    for (const auto& variable : container.value("env", json::array())) {
      env += (env.empty() ? "" : ", ") + variable.value("name", "");
      env_names.push_back(variable.value("name", ""));
    }
    text += "  " + container.value("name", "") + ": image " + container.value("image", "") +
            (env.empty() ? "" : "; env " + env) + "\n";
    containers.push_back({{"name", container.value("name", "")},
                          {"image", container.value("image", "")},
                          {"env", env_names},
                          {"resources", container.value("resources", json::object())}});
  }
  text += "Conditions:\n";
  json conditions = json::array();
  for (const auto& condition : deployment.value("status", json::object()).value("conditions", json::array())) {
    text += "  " + condition.value("type", "") + "=" + condition.value("status", "") + " (" +
            condition.value("reason", "") + "): " + condition.value("message", "") + "\n";
    conditions.push_back({{"type", condition.value("type", "")},
                          {"status", condition.value("status", "")},
                          {"reason", condition.value("reason", "")},
                          {"message", condition.value("message", "")}});
  }
  std::map<std::string, std::string> uids = {{text_at(deployment, "/metadata/uid"), "deployment"}};
  std::vector<std::vector<std::string>> set_rows;
  json set_summaries = json::array();
  for (const auto& set : sets.value("items", json::array())) {
    uids[text_at(set, "/metadata/uid")] = "replicaset";
    const std::string revision = text_at(set, "/metadata/annotations/deployment.kubernetes.io~1revision");
    set_rows.push_back({text_at(set, "/metadata/name"), revision, std::to_string(number_at(set, "/spec/replicas")),
                        std::to_string(number_at(set, "/status/readyReplicas")), age_of(set)});
    set_summaries.push_back({{"name", set_rows.back()[0]},
                             {"revision", revision},
                             {"desired", number_at(set, "/spec/replicas")},
                             {"ready", number_at(set, "/status/readyReplicas")}});
  }
  text += "ReplicaSets:\n" + format_table({"NAME", "REVISION", "DESIRED", "READY", "AGE"}, set_rows);
  std::vector<std::vector<std::string>> pod_rows;
  json pod_summaries = json::array();
  for (const auto& pod : pod_list.value("items", json::array())) {
    uids[text_at(pod, "/metadata/uid")] = "pod";
    json pod_row = pod_summary(pod);
    pod_rows.push_back({pod_row["name"], pod_row["ready"], pod_row["status"],
                        std::to_string(pod_row["restarts"].get<long long>()), pod_row["age"], pod_row["node"]});
    pod_summaries.push_back(std::move(pod_row));
  }
  text += "Pods:\n" + (pod_rows.empty() ? std::string("  (none)\n")
                                        : format_table({"NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"}, pod_rows));
  std::vector<json> related;
  for (const auto& event : event_list.value("items", json::array())) {
    if (uids.count(text_at(event, "/involvedObject/uid")) != 0) related.push_back(event);
  }
  sort_events(related, false);
  constexpr std::size_t kRecentEvents = 25;
  if (related.size() > kRecentEvents) related.erase(related.begin(), related.end() - kRecentEvents);
  std::vector<json> event_summaries;
  for (const auto& event : related) event_summaries.push_back(event_summary(event));
  text += "Events (most recent " + std::to_string(event_summaries.size()) + "):\n" +
          (event_summaries.empty() ? std::string("  (none)\n") : events_text(event_summaries));
  json structured = summary;
  structured["events"] = json(event_summaries);
  structured["selector"] = selector;
  structured["containers"] = containers;
  structured["conditions"] = conditions;
  structured["replicaSets"] = set_summaries;
  structured["pods"] = pod_summaries;
  return text_result(std::move(text), std::move(structured));
}

asio::awaitable<json> describe_deployment(ToolContext& context, json raw) {
  const Arguments arguments(raw);
  const std::string ns = context.namespace_of(arguments);
  const std::string name = arguments.string("name");
  const ResourceType deployments{"apps/v1", "Deployment", "deployments", true};
  const ResourceType replica_sets{"apps/v1", "ReplicaSet", "replicasets", true};
  const ResourceType pods{"v1", "Pod", "pods", true};
  const ResourceType events{"v1", "Event", "events", true};
  const json deployment = co_await context.api().get(deployments.collection_path(ns) + "/" + url_encode(name));
  const std::string selector =
      label_selector_of(deployment["spec"].value("selector", json::object()).value("matchLabels", json::object()));
  const std::string sets_path = with_query(replica_sets.collection_path(ns), {{"labelSelector", selector}});
  const json sets = co_await context.api().get(sets_path);
  const std::string pods_path = with_query(pods.collection_path(ns), {{"labelSelector", selector}});
  const json pod_list = co_await context.api().get(pods_path);
  const json event_list = co_await context.api().get(events.collection_path(ns));
  co_return describe(ns, name, deployment, selector, sets, pod_list, event_list);
}

Tool deployments_describe(ToolContext& context) {
  return {{{"name", "deployments_describe"},
           {"description",
            "Describe a deployment as an SRE needs it: replicas, strategy, containers with images and environment "
            "variable names, conditions, its ReplicaSets by revision, its pods with status and restarts, and the "
            "recent events of all of them."},
           {"inputSchema", input_schema({namespace_property(), {"name", "string", "Deployment name", true}})},
           {"annotations", read_only_annotations("Describe a deployment")}},
          [&context](const json& raw) { return describe_deployment(context, raw); }};
}

Tool services_list(ToolContext& context) {
  return {{{"name", "services_list"},
           {"description", "List services with type, cluster IP, ports and selector."},
           {"inputSchema", input_schema({namespace_property(), all_namespaces_property(),
                                         {"labelSelector", "string", "Label selector"}})},
           {"annotations", read_only_annotations("List services")}},
          [&context](const json& raw) -> asio::awaitable<json> {
            const Arguments arguments(raw);
            const std::string ns = context.list_namespace(arguments);
            const ResourceType services{"v1", "Service", "services", true};
            const json list = co_await context.api().get(selector_query(arguments, services.collection_path(ns)));
            std::vector<std::vector<std::string>> rows;
            json summaries = json::array();
            for (const auto& service : list.value("items", json::array())) {
              std::string ports;
              for (const auto& port : service["spec"].value("ports", json::array())) {
                ports += (ports.empty() ? "" : ",") + std::to_string(port.value("port", 0)) + "/" + port.value("protocol", "TCP");
              }
              const std::string selector = label_selector_of(service["spec"].value("selector", json::object()));
              std::vector<std::string> row = {text_at(service, "/metadata/name"), text_at(service, "/spec/type"),
                                              text_at(service, "/spec/clusterIP"), ports, selector, age_of(service)};
              summaries.push_back({{"namespace", text_at(service, "/metadata/namespace")}, {"name", row[0]}, {"type", row[1]},
                                   {"clusterIP", row[2]}, {"ports", ports}, {"selector", selector}, {"age", row[5]}});
              if (ns.empty()) row.insert(row.begin(), text_at(service, "/metadata/namespace"));
              rows.push_back(std::move(row));
            }
            std::vector<std::string> headers = {"NAME", "TYPE", "CLUSTER-IP", "PORTS", "SELECTOR", "AGE"};
            if (ns.empty()) headers.insert(headers.begin(), "NAMESPACE");
            co_return text_result(rows.empty() ? std::string("No services found.\n") : format_table(headers, rows), {{"services", summaries}});
          }};
}

Tool nodes_list(ToolContext& context) {
  return {{{"name", "nodes_list"},
           {"description",
            "List nodes with readiness, pressure conditions, kubelet version, and CPU and memory capacity and "
            "allocatable."},
           {"inputSchema", input_schema({{"labelSelector", "string", "Label selector"}})},
           {"annotations", read_only_annotations("List nodes")}},
          [&context](const json& raw) -> asio::awaitable<json> {
            const Arguments arguments(raw);
            const json list = co_await context.api().get(selector_query(arguments, "/api/v1/nodes"));
            std::vector<std::vector<std::string>> rows;
            json summaries = json::array();
            for (const auto& node : list.value("items", json::array())) {
              std::string status = "Unknown";
              std::string problems;
              json conditions = json::object();
              for (const auto& condition : node["status"].value("conditions", json::array())) {
                const std::string type = condition.value("type", "");
                const std::string value = condition.value("status", "");
                conditions[type] = value;
                if (type == "Ready") status = value == "True" ? "Ready" : "NotReady";
                else if (value == "True") problems += (problems.empty() ? "" : ",") + type;
              }
              rows.push_back({text_at(node, "/metadata/name"), status, problems.empty() ? "-" : problems,
                              text_at(node, "/status/nodeInfo/kubeletVersion"),
                              text_at(node, "/status/allocatable/cpu") + "/" + text_at(node, "/status/capacity/cpu"),
                              text_at(node, "/status/allocatable/memory") + "/" + text_at(node, "/status/capacity/memory"),
                              age_of(node)});
              summaries.push_back({{"name", rows.back()[0]},
                                   {"status", status},
                                   {"conditions", conditions},
                                   {"version", rows.back()[3]},
                                   {"capacity", node["status"].value("capacity", json::object())},
                                   {"allocatable", node["status"].value("allocatable", json::object())},
                                   {"age", rows.back()[6]}});
            }
            co_return text_result(
                format_table({"NAME", "STATUS", "PRESSURE", "VERSION", "CPU (ALLOC/CAP)", "MEMORY (ALLOC/CAP)", "AGE"}, rows),
                {{"nodes", summaries}});
          }};
}

Tool resources_list(ToolContext& context) {
  return {{{"name", "resources_list"},
           {"description",
            "List objects of any kind the cluster serves (found through discovery), e.g. apiVersion v1 kind "
            "ConfigMap, or apps/v1 StatefulSet. Secret values are never shown."},
           {"inputSchema",
            input_schema({{"apiVersion", "string", "API version, e.g. v1, apps/v1, batch/v1", true},
                          {"kind", "string", "Kind, e.g. ConfigMap, StatefulSet, Job", true},
                          namespace_property(), all_namespaces_property(),
                          {"labelSelector", "string", "Label selector"},
                          {"fieldSelector", "string", "Field selector"}})},
           {"annotations", read_only_annotations("List resources")}},
          [&context](const json& raw) -> asio::awaitable<json> {
            const Arguments arguments(raw);
            const ResourceType type = co_await context.api().resolve(arguments.string("apiVersion"), arguments.string("kind"));
            const std::string ns = type.namespaced ? context.list_namespace(arguments) : std::string{};
            const json list = co_await context.api().get(selector_query(arguments, type.collection_path(ns)));
            std::vector<std::vector<std::string>> rows;
            json items = json::array();
            for (const auto& item : list.value("items", json::array())) {
              std::vector<std::string> row = {text_at(item, "/metadata/name"), age_of(item)};
              if (type.namespaced && ns.empty()) row.insert(row.begin(), text_at(item, "/metadata/namespace"));
              rows.push_back(std::move(row));
              items.push_back(compact(item));
            }
            std::vector<std::string> headers = {"NAME", "AGE"};
            if (type.namespaced && ns.empty()) headers.insert(headers.begin(), "NAMESPACE");
            co_return text_result(rows.empty() ? "No " + type.plural + " found.\n" : format_table(headers, rows),
                                  {{"apiVersion", type.api_version}, {"kind", type.kind}, {"items", items}});
          }};
}

Tool resources_get(ToolContext& context) {
  return {{{"name", "resources_get"},
           {"description", "Get one object of any kind as JSON. Secret values are never shown."},
           {"inputSchema", input_schema({{"apiVersion", "string", "API version, e.g. v1, apps/v1", true},
                                         {"kind", "string", "Kind, e.g. ConfigMap", true},
                                         namespace_property(),
                                         {"name", "string", "Object name", true}})},
           {"annotations", read_only_annotations("Get a resource")}},
          [&context](const json& raw) -> asio::awaitable<json> {
            const Arguments arguments(raw);
            const ResourceType type = co_await context.api().resolve(arguments.string("apiVersion"), arguments.string("kind"));
            const std::string ns = type.namespaced ? context.namespace_of(arguments) : std::string{};
            const json object =
                compact(co_await context.api().get(type.collection_path(ns) + "/" + url_encode(arguments.string("name"))));
            co_return text_result(object.dump(2), object);
          }};
}

}  // namespace

std::vector<Tool> read_tools(ToolContext& context) {
  return {namespaces_list(context), pods_list(context),        pods_get(context),          pods_log(context),
          events_list(context),     deployments_list(context), deployments_describe(context), services_list(context),
          nodes_list(context),      resources_list(context),   resources_get(context)};
}

}  // namespace sluice::kube
