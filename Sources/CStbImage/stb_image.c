// stb_image from Debian's libstb-dev (/usr/include/stb/stb_image.h), compiled once here.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_FAILURE_USERMSG
// Refuse pictures larger than 2^26 pixels (8192 x 8192) before allocating: a hostile header must
// not allocate gigabytes.
#define STBI_MAX_DIMENSIONS 16384
#include <stb/stb_image.h>

#include "CStbImage.h"

unsigned char *atl_image_decode(const unsigned char *bytes, int length, int *width, int *height, int *channels_in_file,
                                int desired_channels, const char **failure) {
    unsigned char *pixels = stbi_load_from_memory(bytes, length, width, height, channels_in_file, desired_channels);
    if (!pixels && failure) *failure = stbi_failure_reason();
    return pixels;
}

int atl_image_info(const unsigned char *bytes, int length, int *width, int *height, int *channels) {
    return stbi_info_from_memory(bytes, length, width, height, channels);
}

void atl_image_free(unsigned char *pixels) { stbi_image_free(pixels); }
