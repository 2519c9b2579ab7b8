from lib_version.release.cli import main

if __name__ == "__main__":
    main()
