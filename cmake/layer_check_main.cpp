// The executable of a layer's link check (cmake/layer_check.cmake): all
// that matters is that it links.
int main() { return 0; }
