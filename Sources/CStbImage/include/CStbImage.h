#ifndef ATELIER_CSTBIMAGE_H
#define ATELIER_CSTBIMAGE_H

/// stb_image's decoder (Debian's libstb-dev header, compiled in stb_image.c), re-exported under
/// our own names so no other module sees stb's macros.
/// Decodes an image file held in memory into 8-bit pixels, `desired_channels` per pixel (0: the
/// file's own count). Returns NULL and sets *failure to stb's reason on bad input.
unsigned char *atl_image_decode(const unsigned char *bytes, int length, int *width, int *height, int *channels_in_file,
                                int desired_channels, const char **failure);
/// Reads only the header: 1 when the dimensions and channel count are known, 0 otherwise.
int atl_image_info(const unsigned char *bytes, int length, int *width, int *height, int *channels);
void atl_image_free(unsigned char *pixels);

#endif
