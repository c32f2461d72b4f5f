#include "kube/demo-cluster/sample_data.h"

#include <chrono>

namespace sluice::kube::demo {
namespace {

using namespace std::chrono_literals;

const ResourceType& type(const char* group, const char* plural) { return *find_resource_type(group, "v1", plural); }

json node(const std::string& name, const std::string& address) {
  const json capacity = {{"cpu", "4"}, {"memory", "16393216Ki"}, {"pods", "110"}, {"ephemeral-storage", "102687672Ki"}};
  const json allocatable = {{"cpu", "3800m"}, {"memory", "15242240Ki"}, {"pods", "110"}, {"ephemeral-storage", "94636958Ki"}};
  json conditions = json::array();
  for (const auto& [kind, reason, message] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
           {"DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
           {"PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"}}) {
    conditions.push_back({{"type", kind}, {"status", "False"}, {"reason", reason}, {"message", message}});
  }
  conditions.push_back(
      {{"type", "Ready"}, {"status", "True"}, {"reason", "KubeletReady"}, {"message", "kubelet is posting ready status"}});
  return {{"metadata",
           {{"name", name},
            {"labels",
             {{"kubernetes.io/hostname", name}, {"kubernetes.io/os", "linux"}, {"node-role.kubernetes.io/worker", ""}}}}},
          {"spec", {{"podCIDR", "10.244.0.0/24"}}},
          {"status",
           {{"capacity", capacity},
            {"allocatable", allocatable},
            {"conditions", conditions},
            {"addresses", {{{"type", "InternalIP"}, {"address", address}}, {{"type", "Hostname"}, {"address", name}}}},
            {"nodeInfo",
             {{"kubeletVersion", "v1.32.0"},
              {"containerRuntimeVersion", "containerd://1.7.22"},
              {"osImage", "Debian GNU/Linux 12 (bookworm)"},
              {"kernelVersion", "6.1.0-26-amd64"},
              {"architecture", "amd64"},
              {"operatingSystem", "linux"}}}}}};
}

json deployment(const std::string& ns, const std::string& name, int replicas, const std::string& image,
                const json& env, const std::string& memory) {
  json container = {{"name", name},
                    {"image", image},
                    {"ports", {{{"containerPort", 8080}, {"protocol", "TCP"}}}},
                    {"resources", {{"requests", {{"cpu", "100m"}, {"memory", memory}}}, {"limits", {{"memory", memory}}}}}};
  if (!env.empty()) container["env"] = env;
  const json labels = {{"app", name}};
  return {{"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", labels}}},
            {"strategy", {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxUnavailable", "25%"}, {"maxSurge", "25%"}}}}},
            {"template", {{"metadata", {{"labels", labels}}}, {"spec", {{"containers", {container}}}}}}}}};
}

json service(const std::string& ns, const std::string& name, const std::string& cluster_ip, int port) {
  return {{"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", name}}}}},
          {"spec",
           {{"type", "ClusterIP"},
            {"clusterIP", cluster_ip},
            {"clusterIPs", {cluster_ip}},
            {"selector", {{"app", name}}},
            {"ports", {{{"name", "http"}, {"port", port}, {"targetPort", 8080}, {"protocol", "TCP"}}}}}}};
}

json env_var(const std::string& name, const std::string& value) { return {{"name", name}, {"value", value}}; }

}  // namespace

std::vector<ImageBehaviour> demo_images() {
  const std::vector<std::string> common = {
      "level=info msg=\"loading configuration\" source=env",
      "level=info msg=\"connecting to database\" host=orders-db.production.svc:5432",
      "level=info msg=\"database connection pool ready\" size=10",
  };
  return {
      {"registry.example.com/shop/checkout:2.5",
       "PAYMENTS_API_URL",
       common,
       {"level=info msg=\"listening\" addr=:8080 version=2.5.0"},
       {"level=warn msg=\"PAYMENTS_URL is set but no longer read since 2.5.0; rename it to PAYMENTS_API_URL\"",
        "level=fatal msg=\"required setting PAYMENTS_API_URL is empty: cannot reach the payments service\" exit=1"}},
      {"registry.example.com/shop/checkout:2.4",
       "PAYMENTS_URL",
       common,
       {"level=info msg=\"listening\" addr=:8080 version=2.4.1"},
       {"level=fatal msg=\"required setting PAYMENTS_URL is empty\" exit=1"}},
      {"registry.example.com/shop/frontend", "", common, {"level=info msg=\"serving\" addr=:8080"}, {}},
      {"registry.example.com/shop/report-generator", "", common, {"level=info msg=\"waiting for jobs\""}, {}},
      {"registry.k8s.io/coredns", "", {"[INFO] plugin/reload: Running configuration SHA512 = 591cf328"}, {"CoreDNS-1.11.3"}, {}},
  };
}

void load_sample_data(ClusterState& state) {
  state.backdate(30 * 24h);
  for (const char* name : {"default", "kube-system", "production", "staging"}) {
    state.create(type("", "namespaces"), {{"metadata", {{"name", name}, {"labels", {{"kubernetes.io/metadata.name", name}}}}}},
                 false);
  }
  state.create(type("", "nodes"), node("node-1", "10.0.0.11"), false);
  state.create(type("", "nodes"), node("node-2", "10.0.0.12"), false);
  state.create(type("", "nodes"), node("node-3", "10.0.0.13"), false);
  state.create(type("", "services"), service("default", "kubernetes", "10.96.0.1", 443), false);
  state.create(type("apps", "deployments"),
               deployment("kube-system", "coredns", 2, "registry.k8s.io/coredns/coredns:v1.11.3", json::array(), "70Mi"),
               false);

  state.backdate(20 * 24h);
  const json old_env = {env_var("PAYMENTS_URL", "http://payments.production.svc:8080"),
                        env_var("LOG_LEVEL", "info")};
  state.create(type("apps", "deployments"),
               deployment("production", "checkout", 3, "registry.example.com/shop/checkout:2.4.1", old_env, "256Mi"),
               false);
  state.create(type("apps", "deployments"),
               deployment("production", "frontend", 2, "registry.example.com/shop/frontend:1.9.0", json::array(), "128Mi"),
               false);
  state.create(type("", "services"), service("production", "checkout", "10.96.12.34", 80), false);
  state.create(type("", "services"), service("production", "frontend", "10.96.12.40", 80), false);
  state.create(type("", "configmaps"),
               {{"metadata", {{"name", "checkout-config"}, {"namespace", "production"}}},
                {"data", {{"PAYMENTS_TIMEOUT", "5s"}, {"CURRENCY", "EUR"}}}},
               false);
  state.create(type("", "secrets"),
               {{"metadata", {{"name", "payments-api-credentials"}, {"namespace", "production"}}},
                {"type", "Opaque"},
                {"data", {{"api-key", "c2stbGl2ZS1kZW1vLTRmOGEyYjljN2UxZA=="}}}},
               false);

  state.backdate(2 * 24h);
  const json new_env = {env_var("PAYMENTS_API_URL", "http://payments.staging.svc:8080"), env_var("LOG_LEVEL", "debug")};
  state.create(type("apps", "deployments"),
               deployment("staging", "checkout", 1, "registry.example.com/shop/checkout:2.5.0", new_env, "256Mi"),
               false);
  state.create(type("apps", "deployments"),
               deployment("staging", "frontend", 1, "registry.example.com/shop/frontend:1.9.0", json::array(), "128Mi"),
               false);
  state.create(type("", "services"), service("staging", "checkout", "10.96.20.34", 80), false);

  // The incident: 2.5.0 reached production with the environment of 2.4.
  state.backdate(47min);
  json rollout = *state.find("deployments", "production", "checkout");
  rollout["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example.com/shop/checkout:2.5.0";
  rollout["metadata"].erase("resourceVersion");
  state.replace(type("apps", "deployments"), rollout, false);

  state.backdate(12min);
  state.create(type("apps", "deployments"),
               deployment("production", "report-generator", 1, "registry.example.com/shop/report-generator:0.7.2",
                           json::array(), "64Gi"),
               false);
  state.backdate(0s);
}

}  // namespace sluice::kube::demo
