// What the register-tile convolution kernels share: the register tile and the parameters.
#include register_tile
#include conv_params
