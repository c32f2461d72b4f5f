// The sluice-demo-cluster that `sluice demo` runs beside Sluice: started before the
// proxy's event loop (sluice-kube needs its kubeconfig), stopped after it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

namespace sluice::proxy {

class DemoCluster {
 public:
  // Starts `program` on a free loopback port, writing `kubeconfig`, and returns once it
  // serves. Its log goes to `log_file`. Throws, naming the program and the log, when it
  // exits or says nothing within `deadline`.
  DemoCluster(const std::filesystem::path& program, const std::filesystem::path& kubeconfig,
              const std::filesystem::path& log_file, std::chrono::milliseconds deadline);
  ~DemoCluster();

  DemoCluster(const DemoCluster&) = delete;
  DemoCluster& operator=(const DemoCluster&) = delete;

  // https://127.0.0.1:PORT
  [[nodiscard]] const std::string& url() const { return url_; }

  // SIGTERM, then waits for it to exit. Idempotent.
  void stop();

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string url_;
  std::thread log_copier_;
};

}  // namespace sluice::proxy
