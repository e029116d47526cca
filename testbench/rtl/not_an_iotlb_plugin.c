/* A shared library without the RTL IOTLB plug-in entry point: the loader must refuse it. */
int not_an_iotlb_plugin(void);
int not_an_iotlb_plugin(void) {
    return 0;
}
