#include "core/log.h"
int main(int argc, char **argv)
{
        log_setup(false);
        return 0;
}
