#include "kube/demo-cluster/certificates.h"

#include <memory>
#include <stdexcept>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace sluice::kube::demo {
namespace {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* pointer) const { Free(pointer); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Certificate = std::unique_ptr<X509, Deleter<X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO_free>>;
using BigNumber = std::unique_ptr<BIGNUM, Deleter<BN_free>>;

[[noreturn]] void fail(const std::string& step) {
  char reason[256] = {};
  ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
  throw std::runtime_error("generating the demo cluster's certificates: " + step + ": " + reason);
}

void check(int status, const char* step) {
  if (status <= 0) fail(step);
}

Key new_key() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) fail("EC key generation");
  return key;
}

struct Subject {
  const char* common_name;
  const char* organization = nullptr;
};

// `issuer` and `issuer_key` are null for the self-signed CA.
Certificate issue(const Subject& subject, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                  const std::vector<std::pair<int, const char*>>& extensions) {
  Certificate certificate(X509_new());
  if (!certificate) fail("X509_new");
  check(X509_set_version(certificate.get(), 2), "X509_set_version");
  BigNumber serial(BN_new());
  check(BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "serial number");
  if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate.get())) == nullptr) fail("serial number");
  // An hour of slack for clocks that disagree; a month is longer than any demo.
  if (X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600) == nullptr) fail("notBefore");
  if (X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 30L * 24 * 3600) == nullptr) fail("notAfter");
  check(X509_set_pubkey(certificate.get(), key), "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(certificate.get());
  const auto* cn = reinterpret_cast<const unsigned char*>(subject.common_name);
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn, -1, -1, 0), "subject");
  if (subject.organization != nullptr) {
    const auto* o = reinterpret_cast<const unsigned char*>(subject.organization);
    check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, o, -1, -1, 0), "subject");
  }
  X509* signer = issuer != nullptr ? issuer : certificate.get();
  check(X509_set_issuer_name(certificate.get(), X509_get_subject_name(signer)), "issuer");
  X509V3_CTX context;
  X509V3_set_ctx(&context, signer, certificate.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    if (extension == nullptr) fail(std::string("extension ") + OBJ_nid2sn(nid));
    const int added = X509_add_ext(certificate.get(), extension, -1);
    X509_EXTENSION_free(extension);
    check(added, "X509_add_ext");
  }
  check(X509_sign(certificate.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()), "X509_sign");
  return certificate;
}

std::string pem_of(X509* certificate) {
  Bio bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(bio.get(), certificate), "PEM_write_bio_X509");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(size)};
}

std::string pem_of(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr), "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(size)};
}

}  // namespace

DemoPki generate_pki(const std::string& client_user, const std::string& client_group) {
  const Key ca_key = new_key();
  const Certificate ca = issue({"sluice-demo-cluster-ca"}, ca_key.get(), nullptr, nullptr,
                               {{NID_basic_constraints, "critical,CA:TRUE"},
                                {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                {NID_subject_key_identifier, "hash"}});
  const Key server_key = new_key();
  const Certificate server = issue({"sluice-demo-cluster"}, server_key.get(), ca.get(), ca_key.get(),
                                   {{NID_basic_constraints, "critical,CA:FALSE"},
                                    {NID_key_usage, "critical,digitalSignature"},
                                    {NID_ext_key_usage, "serverAuth"},
                                    {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                                    {NID_authority_key_identifier, "keyid:always"}});
  const Key client_key = new_key();
  const Certificate client = issue({client_user.c_str(), client_group.c_str()}, client_key.get(), ca.get(),
                                   ca_key.get(),
                                   {{NID_basic_constraints, "critical,CA:FALSE"},
                                    {NID_key_usage, "critical,digitalSignature"},
                                    {NID_ext_key_usage, "clientAuth"},
                                    {NID_authority_key_identifier, "keyid:always"}});
  return {{pem_of(ca.get()), pem_of(ca_key.get())},
          {pem_of(server.get()), pem_of(server_key.get())},
          {pem_of(client.get()), pem_of(client_key.get())}};
}

}  // namespace sluice::kube::demo
