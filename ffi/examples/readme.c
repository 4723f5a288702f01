#include <nelloc.h>
#include <stdio.h>

int main(int argc, char **argv) {
    nlc_image *image = NULL;
    nlc_pixels px = {.struct_size = sizeof(nlc_pixels)};
    nlc_status st;
    if (argc != 3) {
        fprintf(stderr, "usage: %s IN.nlc OUT.nlc\n", argv[0]);
        return 2;
    }
    st = nlc_decode_file(argv[1], NULL, &image); /* NULL options: the defaults */
    if (st == NLC_OK) st = nlc_image_get(image, &px);
    if (st == NLC_OK) {
        printf("%s: %ux%u, %u channel(s)\n", argv[1], px.width, px.height, px.channels);
        st = nlc_encode_file(image, NULL, argv[2]); /* and write it back */
    }
    if (st != NLC_OK) {
        char detail[256];
        nlc_last_error_message(detail, sizeof detail);
        fprintf(stderr, "%s (%s)\n", nlc_status_message(st), detail);
    }
    nlc_image_free(image); /* NULL is fine */
    return st == NLC_OK ? 0 : 1;
}
