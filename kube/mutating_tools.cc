// The mutating tools: each takes dryRun (the API's dryRun=All: validated and
// computed by the server, stored nowhere) and says in its result whether it was one.
#include "kube/manifest.h"
#include "kube/timestamps.h"
#include "kube/tools.h"

namespace sluice::kube {
namespace {

constexpr const char* kFieldManager = "sluice-kube";

json mutating_annotations(const char* title, bool destructive, bool idempotent) {
  return {{"title", title},
          {"readOnlyHint", false},
          {"destructiveHint", destructive},
          {"idempotentHint", idempotent},
          {"openWorldHint", false}};
}

std::string dry_run_query(bool dry_run, char separator = '?') {
  return dry_run ? std::string(1, separator) + "dryRun=All" : std::string{};
}

// "DRY RUN (nothing was changed): " in front of what would have happened.
std::string outcome(bool dry_run, const std::string& done, const std::string& would) {
  return dry_run ? "DRY RUN (nothing was changed): " + would : done;
}

json outcome_structure(bool dry_run, json fields) {
  fields["dryRun"] = dry_run;
  return fields;
}

Tool deployments_scale(ToolContext& context) {
  return {{{"name", "deployments_scale"},
           {"description",
            "Set a deployment's replica count (scaling down terminates pods). dryRun=true validates on the server "
            "without changing anything."},
           {"inputSchema", input_schema({namespace_property(),
                                         {"name", "string", "Deployment name", true},
                                         {"replicas", "integer", "Wanted number of replicas (0-1000)", true},
                                         dry_run_property()})},
           {"annotations", mutating_annotations("Scale a deployment", false, true)}},
          [&context](const json& raw) -> asio::awaitable<json> {
            const Arguments arguments(raw);
            const std::string ns = context.namespace_of(arguments);
            const std::string name = arguments.string("name");
            const auto replicas = arguments.optional_integer("replicas", 0, 1000);
            if (!replicas) throw ToolError("argument replicas is required (an integer from 0 to 1000)");
            const bool dry_run = arguments.flag("dryRun");
            const std::string path = "/apis/apps/v1/namespaces/" + url_encode(ns) + "/deployments/" + url_encode(name) + "/scale";
            const json before = co_await context.api().get(path);
            const json patch = {{"spec", {{"replicas", *replicas}}}};
            const json after = co_await context.api().send("PATCH", path + dry_run_query(dry_run), patch.dump(),
                                                           "application/merge-patch+json");
            const long long previous = before.value("spec", json::object()).value("replicas", 0LL);
            const std::string what = "deployment " + ns + "/" + name;
            const std::string change = " from " + std::to_string(previous) + " to " + std::to_string(*replicas) + " replicas";
            co_return text_result(outcome(dry_run, what + " scaled" + change + "\n", what + " would be scaled" + change + "\n"),
                                  outcome_structure(dry_run, {{"namespace", ns},
                                                              {"name", name},
                                                              {"previousReplicas", previous},
                                                              {"replicas", after["spec"].value("replicas", *replicas)}}));
          }};
}

Tool deployments_rollout_restart(ToolContext& context) {
  return {{{"name", "deployments_rollout_restart"},
           {"description",
            "Restart a deployment's pods by a rolling update, as `kubectl rollout restart` does (sets the "
            "kubectl.kubernetes.io/restartedAt annotation of the pod template)."},
           {"inputSchema",
            input_schema({namespace_property(), {"name", "string", "Deployment name", true}, dry_run_property()})},
           {"annotations", mutating_annotations("Restart a deployment", false, false)}},
          [&context](const json& raw) -> asio::awaitable<json> {
            const Arguments arguments(raw);
            const std::string ns = context.namespace_of(arguments);
            const std::string name = arguments.string("name");
            const bool dry_run = arguments.flag("dryRun");
            const std::string restarted_at = to_rfc3339(Clock::now());
            const json patch = {
                {"spec", {{"template", {{"metadata", {{"annotations", {{"kubectl.kubernetes.io/restartedAt", restarted_at}}}}}}}}}};
            const json result = co_await context.api().send(
                "PATCH", "/apis/apps/v1/namespaces/" + url_encode(ns) + "/deployments/" + url_encode(name) + dry_run_query(dry_run),
                patch.dump(), "application/strategic-merge-patch+json");
            const std::string what = "deployment " + ns + "/" + name;
            co_return text_result(outcome(dry_run, what + " restarted (restartedAt " + restarted_at + ")\n",
                                          what + " would be restarted\n"),
                                  outcome_structure(dry_run, {{"namespace", ns},
                                                              {"name", name},
                                                              {"restartedAt", restarted_at},
                                                              {"generation", result["metadata"].value("generation", 0)}}));
          }};
}

Tool pods_delete(ToolContext& context) {
  return {{{"name", "pods_delete"},
           {"description",
            "Delete a pod. A pod owned by a ReplicaSet (a deployment's) is replaced by a new one; a bare pod is gone."},
           {"inputSchema", input_schema({namespace_property(),
                                         {"name", "string", "Pod name", true},
                                         {"gracePeriodSeconds", "integer", "Seconds the pod gets to stop (default: its own)"},
                                         dry_run_property()})},
           {"annotations", mutating_annotations("Delete a pod", true, true)}},
          [&context](const json& raw) -> asio::awaitable<json> {
            const Arguments arguments(raw);
            const std::string ns = context.namespace_of(arguments);
            const std::string name = arguments.string("name");
            const bool dry_run = arguments.flag("dryRun");
            std::string path = "/api/v1/namespaces/" + url_encode(ns) + "/pods/" + url_encode(name) + dry_run_query(dry_run);
            if (const auto grace = arguments.optional_integer("gracePeriodSeconds", 0, 3600)) {
              path += std::string(dry_run ? "&" : "?") + "gracePeriodSeconds=" + std::to_string(*grace);
            }
            const json pod = co_await context.api().send("DELETE", path, {}, {});
            std::string owner;
            for (const auto& reference : pod.value("metadata", json::object()).value("ownerReferences", json::array())) {
              owner = reference.value("kind", "") + "/" + reference.value("name", "");
            }
            const std::string what = "pod " + ns + "/" + name;
            const std::string note = owner.empty() ? " (no owner: it will not come back)" : " (owned by " + owner + ", which replaces it)";
            co_return text_result(outcome(dry_run, what + " deleted" + note + "\n", what + " would be deleted" + note + "\n"),
                                  outcome_structure(dry_run, {{"namespace", ns}, {"name", name}, {"owner", owner}}));
          }};
}

Tool resources_apply(ToolContext& context) {
  return {{{"name", "resources_apply"},
           {"description",
            "Create or update one object from a YAML or JSON manifest by server-side apply (field manager "
            "sluice-kube). Overwrites the fields the manifest sets. Secret values in the result are redacted."},
           {"inputSchema",
            input_schema({{"manifest", "string", "One YAML or JSON object with apiVersion, kind and metadata.name", true},
                          {"namespace", "string", "Namespace, when the manifest names none; default: the context's"},
                          {"force", "boolean", "Take over fields another field manager owns"},
                          dry_run_property()})},
           {"annotations", mutating_annotations("Apply a manifest", true, true)}},
          [&context](const json& raw) -> asio::awaitable<json> {
            const Arguments arguments(raw);
            json manifest;
            try {
              manifest = parse_manifest(arguments.string("manifest"));
            } catch (const ManifestError& error) {
              throw ToolError(std::string("manifest: ") + error.what());
            }
            const std::string api_version = manifest.value("apiVersion", "");
            const std::string kind = manifest.value("kind", "");
            auto& metadata = manifest["metadata"];
            if (!metadata.is_object() || !metadata.contains("name") || !metadata["name"].is_string()) {
              throw ToolError("manifest: metadata.name is required");
            }
            const std::string name = metadata["name"];
            const ResourceType type = co_await context.api().resolve(api_version, kind);
            std::string ns;
            if (type.namespaced) {
              const std::string in_manifest = metadata.value("namespace", "");
              const std::string in_argument = arguments.optional_string("namespace").value_or("");
              if (!in_manifest.empty() && !in_argument.empty() && in_manifest != in_argument) {
                throw ToolError("the manifest's namespace (" + in_manifest + ") differs from the namespace argument (" +
                                in_argument + ")");
              }
              ns = !in_manifest.empty() ? in_manifest : !in_argument.empty() ? in_argument : context.api().credentials().default_namespace;
              context.check_namespace(ns);
              metadata["namespace"] = ns;
            } else if (!context.options().allowed_namespaces.empty()) {
              throw ToolError(kind + " is cluster-scoped: this server is limited to some namespaces");
            }
            const bool dry_run = arguments.flag("dryRun");
            std::string path = type.collection_path(ns) + "/" + url_encode(name) + "?fieldManager=" + kFieldManager;
            if (arguments.flag("force")) path += "&force=true";
            path += dry_run_query(dry_run, '&');
            // JSON is YAML: the API takes the normalized manifest as an apply patch.
            const json applied = co_await context.api().send("PATCH", path, manifest.dump(), "application/apply-patch+yaml");
            json object = applied;
            if (object.contains("metadata") && object["metadata"].is_object()) object["metadata"].erase("managedFields");
            const std::string what = kind + " " + (ns.empty() ? "" : ns + "/") + name;
            co_return text_result(outcome(dry_run, what + " applied\n", what + " would be applied; the result would be:\n") +
                                      (dry_run ? object.dump(2) + "\n" : ""),
                                  outcome_structure(dry_run, {{"object", object}}));
          }};
}

Tool resources_delete(ToolContext& context) {
  return {{{"name", "resources_delete"},
           {"description", "Delete one object of any kind the cluster serves."},
           {"inputSchema", input_schema({{"apiVersion", "string", "API version, e.g. v1, apps/v1", true},
                                         {"kind", "string", "Kind, e.g. ConfigMap", true},
                                         namespace_property(),
                                         {"name", "string", "Object name", true},
                                         dry_run_property()})},
           {"annotations", mutating_annotations("Delete a resource", true, true)}},
          [&context](const json& raw) -> asio::awaitable<json> {
            const Arguments arguments(raw);
            const ResourceType type = co_await context.api().resolve(arguments.string("apiVersion"), arguments.string("kind"));
            std::string ns;
            if (type.namespaced) {
              ns = context.namespace_of(arguments);
            } else if (!context.options().allowed_namespaces.empty()) {
              throw ToolError(type.kind + " is cluster-scoped: this server is limited to some namespaces");
            }
            const std::string name = arguments.string("name");
            const bool dry_run = arguments.flag("dryRun");
            co_await context.api().send("DELETE", type.collection_path(ns) + "/" + url_encode(name) + dry_run_query(dry_run), {}, {});
            const std::string what = type.kind + " " + (ns.empty() ? "" : ns + "/") + name;
            co_return text_result(outcome(dry_run, what + " deleted\n", what + " would be deleted\n"),
                                  outcome_structure(dry_run, {{"apiVersion", type.api_version},
                                                              {"kind", type.kind},
                                                              {"namespace", ns},
                                                              {"name", name}}));
          }};
}

}  // namespace

std::vector<Tool> mutating_tools(ToolContext& context) {
  return {deployments_scale(context), deployments_rollout_restart(context), pods_delete(context),
          resources_apply(context), resources_delete(context)};
}

}  // namespace sluice::kube
