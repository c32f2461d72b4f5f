#include "proxy/cli.h"

int main(int argc, char** argv) { return sluice::proxy::run_cli(argc, argv); }
