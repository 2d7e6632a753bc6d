#include <cstdio>
int main() { std::puts("fedsilo " FEDSILO_VERSION); return 0; }
