// A shared object that is not a libcluster module: it has no entry point.
extern "C" int not_a_module() { return 42; }
